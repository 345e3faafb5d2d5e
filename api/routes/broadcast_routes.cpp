// Broadcasts (phases/broadcast/): the seed's templated campaigns, one
// message per customer. Created as drafts (or scheduled), sent to customer
// ids or a segment by a durable workflow, watched through their stats and
// per-message records, and the failed messages resent.
#include <set>

#include "api/router/problem.h"
#include "api/router/replies.h"
#include "api/router/request_body.h"
#include "api/routes/api_routes.h"
#include "api/routes/list_pages.h"
#include "engine/journal/journal.h"
#include "engine/time/clock.h"
#include "engine/time/time_format.h"
#include "engine/workflow/workflow_engine.h"
#include "phases/audience/customer_directory.h"
#include "phases/audience/message_template.h"
#include "phases/broadcast/broadcasts.h"

namespace orch::api {

using http::Request;
using http::Response;
using nlohmann::json;
namespace bc = phases::broadcast;

namespace {

constexpr std::size_t kMaxCustomerIds = 100'000;
const std::set<std::string> kChannels = {"sms", "whatsapp", "email", "push"};
const std::set<std::string> kMessageStatuses = {"pending", "sent", "failed", "skipped"};

// A problem with extra members (RFC 7807 allows them).
Response problem_with(Response p, const json& extra) {
  json body = json::parse(p.body, nullptr, false);
  if (body.is_object()) {
    body.update(extra);
    p.body = body.dump();
  }
  return p;
}

// The broadcast of the path, or false after answering 404 or 503.
bool find_broadcast(ApiContext& ctx, const Call& c, bc::Broadcast* out) {
  Status error;
  if (ctx.broadcasts->load(c.params[0], out, &error)) return true;
  c.respond(error ? not_found(c.request, "no broadcast '" + c.params[0] + "'")
                  : unavailable(c.request, error));
  return false;
}

std::vector<phases::FieldError> check_broadcast(const json& body, json* unknown) {
  auto errors = check_string_fields(body, {{"name", true, 200},
                                           {"channel", true, 16},
                                           {"base_template", true, 1600},
                                           {"scheduled_at", false, 64}});
  if (body.contains("channel") && body["channel"].is_string() &&
      !kChannels.count(body["channel"].get<std::string>()))
    errors.push_back({"channel", "must be one of sms, whatsapp, email, push"});
  if (body.contains("scheduled_at") && body["scheduled_at"].is_string() &&
      !engine::parse_time(body["scheduled_at"].get<std::string>()))
    errors.push_back({"scheduled_at", "must be an RFC 3339 time"});
  if (body.contains("base_template") && body["base_template"].is_string()) {
    phases::audience::TemplateError e;
    if (!phases::audience::check_template(body["base_template"].get<std::string>(), &e)) {
      if (!e.unknown.empty()) {
        std::string list;
        for (const std::string& u : e.unknown) list += (list.empty() ? "" : ", ") + u;
        errors.push_back({"base_template", "unknown placeholders: " + list});
        *unknown = e.unknown;
      }
      if (!e.syntax.empty()) errors.push_back({"base_template", e.syntax});
    }
  }
  return errors;
}

void post_broadcast(ApiContext& ctx, const Call& c) {
  Response error;
  auto body = parse_object(c.request, false, &error);
  if (!body) return c.respond(std::move(error));
  json unknown;
  if (auto errors = check_broadcast(*body, &unknown); !errors.empty()) {
    Response p = invalid(c.request, "invalid broadcast", errors);
    return c.respond(unknown.is_null() ? p : problem_with(p, {{"unknown_placeholders", unknown}}));
  }
  bc::Broadcast b;
  b.id = "bc-" + random_suffix();
  b.name = (*body)["name"];
  b.channel = (*body)["channel"];
  b.base_template = (*body)["base_template"];
  b.scheduled_at = body->value("scheduled_at", "");
  b.status = b.scheduled_at.empty() ? "draft" : "scheduled";
  ctx.broadcasts->save(b, [&ctx, respond = c.respond, r = c.request, id = b.id](const Status& s) {
    bc::Broadcast saved;
    Status error;
    if (!s || !ctx.broadcasts->load(id, &saved, &error)) return respond(unavailable(r, s ? error : s));
    respond(ok_json(201, saved.view(ctx.broadcasts->stats(id))));
  });
}

void get_broadcast(ApiContext& ctx, const Call& c) {
  bc::Broadcast b;
  if (find_broadcast(ctx, c, &b)) c.respond(ok_json(200, b.view(ctx.broadcasts->stats(b.id))));
}

void list_broadcasts(ApiContext& ctx, const Call& c) {
  const Request& r = c.request;
  std::vector<phases::FieldError> errors;
  check_query_names(r, {"status", "channel", "page", "page_size", "cursor"}, &errors);
  engine::DocumentQuery q;
  q.collection = bc::kBroadcasts;
  q.index_a = r.query_param("status").value_or("");
  q.index_b = r.query_param("channel").value_or("");
  std::size_t page = 1;
  query_number(r, "page", 1, 1'000'000, &page, &errors);
  query_number(r, "page_size", kDefaultListPage, kMaxListPage, &q.limit, &errors);
  read_cursor(r, &q.before_seq, &errors);
  if (!errors.empty()) return c.respond(bad_query(r, errors));
  std::uint64_t total = 0;
  if (Status s = ctx.store.documents().count_documents(q, &total); !s)
    return c.respond(unavailable(r, s));
  std::vector<engine::Document> rows;
  bool more = false;
  // Offset pages (the seed's shape) read through the rows before them; a
  // cursor starts right at its row.
  const std::size_t skip = q.before_seq > 0 ? 0 : (page - 1) * q.limit;
  const std::size_t limit = q.limit;
  q.limit = skip + limit;
  if (Status s = ctx.store.documents().list_documents(q, &rows, &more); !s)
    return c.respond(unavailable(r, s));
  rows.erase(rows.begin(), rows.begin() + std::min(skip, rows.size()));
  json data = json::array();
  for (const engine::Document& d : rows) {
    bc::Broadcast b;
    if (bc::Broadcast::from_document(d, &b)) data.push_back(b.view(ctx.broadcasts->stats(b.id)));
  }
  json pagination = cursor_pagination(limit, more, rows);
  if (q.before_seq == 0) pagination["page"] = page;
  pagination["total_count"] = total;
  pagination["total_pages"] = (total + limit - 1) / limit;
  c.respond(ok_json(200, {{"data", std::move(data)}, {"pagination", std::move(pagination)}}));
}

// The audience of a send: {customer_ids} (all known) or {segment}; false
// after answering.
bool read_audience(ApiContext& ctx, const Call& c, const json& body, json* input,
                   std::uint64_t* count) {
  const Request& r = c.request;
  std::vector<phases::FieldError> errors;
  for (const auto& item : body.items())
    if (item.key() != "customer_ids" && item.key() != "segment")
      errors.push_back({item.key(), "is not a known field"});
  const bool ids = body.contains("customer_ids"), segment = body.contains("segment");
  if (ids == segment) errors.push_back({"", "give exactly one of customer_ids and segment"});
  std::vector<std::string> list;
  if (ids) {
    const json& v = body["customer_ids"];
    if (!v.is_array() || v.empty() || v.size() > kMaxCustomerIds)
      errors.push_back({"customer_ids", "must be an array of 1 to 100,000 customer ids"});
    else
      for (const json& id : v) {
        if (!id.is_string() || id.get<std::string>().empty()) {
          errors.push_back({"customer_ids", "must hold customer id strings"});
          break;
        }
        list.push_back(id.get<std::string>());
      }
    std::set<std::string> unique(list.begin(), list.end());
    if (errors.empty() && unique.size() != list.size())
      errors.push_back({"customer_ids", "must not repeat an id"});
  }
  engine::DocumentQuery q{phases::audience::kCustomers, "", "", 0, 0};
  if (segment) {
    const json& s = body["segment"];
    const bool all = s.is_object() && s.size() == 1 && s.value("all", false) == true;
    const bool location = s.is_object() && s.size() == 1 && s.contains("location") &&
                          s["location"].is_string() && !s["location"].get<std::string>().empty();
    if (!all && !location)
      errors.push_back({"segment", R"(must be {"location": "<location>"} or {"all": true})"});
    if (location) q.index_a = s["location"];
  }
  if (!errors.empty()) {
    c.respond(invalid(r, "invalid send", errors));
    return false;
  }
  if (ids) {
    std::vector<std::string> missing;
    if (Status s = ctx.store.documents().missing_documents(phases::audience::kCustomers, list, &missing); !s) {
      c.respond(unavailable(r, s));
      return false;
    }
    if (!missing.empty()) {
      c.respond(problem_with(not_found(r, std::to_string(missing.size()) + " unknown customer ids"),
                             {{"unknown_customer_ids", missing}}));
      return false;
    }
    (*input)["customer_ids"] = body["customer_ids"];
    *count = list.size();
    return true;
  }
  (*input)["segment"] = body["segment"];
  if (Status s = ctx.store.documents().count_documents(q, count); !s) {
    c.respond(unavailable(r, s));
    return false;
  }
  return true;
}

// Whether `key` is the Idempotency-Key of `b`'s latest send.
bool repeats_latest_send(const bc::Broadcast& b, const std::string& key) {
  return !key.empty() && b.sends > 0 && b.send_key == key;
}

// What a repeat of `b`'s latest send answers: what the send answered.
json repeated_answer(const bc::Broadcast& b) {
  return {{"campaign_id", b.id},
          {"messages_queued", b.messages_queued},
          {"status", b.status == "scheduled" ? "scheduled" : "sending"}};
}

// Starts send number b.sends (0 first) and answers 202 once the broadcast
// records it.
void start_send(ApiContext& ctx, const Call& c, bc::Broadcast b, json input, std::uint64_t queued,
                const std::string& key) {
  const int round = b.sends;
  input["broadcast_id"] = b.id;
  input["round"] = round;
  if (!b.scheduled_at.empty()) input["scheduled_at"] = b.scheduled_at;
  engine::StartRequest start{bc::kBroadcastDefinition, input, bc::send_workflow_id(b.id, round),
                             key, "", actor_of(c.who)};
  ctx.workflows.start(std::move(start), [&ctx, respond = c.respond, r = c.request,
                                         b = std::move(b), queued, key](engine::StartResult s) mutable {
    if (s.code == engine::StartCode::invalid || s.code == engine::StartCode::conflict)
      return respond(problem(409, "wrong-state", "Conflict", s.detail, std::string(r.path())));
    if (s.code == engine::StartCode::existing) {
      // Another request started this send first (it recorded it when its
      // start was durable: a repeat of its key answers as it did), or a
      // crash came between a start and its record (recorded now).
      Status error;
      bc::Broadcast now;
      if (!ctx.broadcasts->load(b.id, &now, &error)) return respond(unavailable(r, error));
      if (now.sends > b.sends) {
        if (repeats_latest_send(now, key)) return respond(ok_json(202, repeated_answer(now)));
        return respond(problem(409, "wrong-state", "Conflict",
                               "broadcast " + now.id + " is already " + now.status,
                               std::string(r.path())));
      }
      b = std::move(now);
    }
    const bool settled = s.code == engine::StartCode::existing &&
                         (b.status == "sent" || b.status == "failed");
    const bool future = !b.scheduled_at.empty() &&
                        engine::parse_time(b.scheduled_at).value_or(0) > ctx.clock.now_ms();
    if (!settled) b.status = future ? "scheduled" : "sending";
    b.sends += 1;
    b.send_key = key;
    b.messages_queued = queued;
    const std::string status = b.status;
    const std::string id = b.id;
    ctx.broadcasts->save(std::move(b), [respond, r, id, queued, status](const Status& w) {
      if (!w) return respond(unavailable(r, w));
      respond(ok_json(202, {{"campaign_id", id}, {"messages_queued", queued}, {"status", status}}));
    });
  });
}

// A repeat of the latest send's key answers as it did; otherwise a
// broadcast sending (or sent, for a first send) is a conflict.
bool answered_repeat(const Call& c, const bc::Broadcast& b, const std::string& key) {
  if (!repeats_latest_send(b, key)) return false;
  c.respond(ok_json(202, repeated_answer(b)));
  return true;
}

void post_send(ApiContext& ctx, const Call& c) {
  Response error;
  std::string key;
  if (!read_idempotency_key(c.request, &key, &error)) return c.respond(std::move(error));
  auto body = parse_object(c.request, false, &error);
  if (!body) return c.respond(std::move(error));
  bc::Broadcast b;
  if (!find_broadcast(ctx, c, &b)) return;
  if (answered_repeat(c, b, key)) return;
  if (b.sends > 0 || (b.status != "draft" && b.status != "scheduled"))
    return c.respond(problem(409, "wrong-state", "Conflict",
                             "broadcast " + b.id + " is " + b.status + "; it can be sent once " +
                                 "(resend its failed messages with messages:retry)",
                             std::string(c.request.path())));
  json input = json::object();
  std::uint64_t queued = 0;
  if (!read_audience(ctx, c, *body, &input, &queued)) return;
  start_send(ctx, c, std::move(b), std::move(input), queued, key);
}

void post_retry(ApiContext& ctx, const Call& c) {
  Response error;
  std::string key;
  if (!read_idempotency_key(c.request, &key, &error)) return c.respond(std::move(error));
  auto body = parse_object(c.request, true, &error);
  if (!body) return c.respond(std::move(error));
  if (!body->empty())
    return c.respond(invalid(c.request, "messages:retry takes no body", {{"", "must be empty"}}));
  bc::Broadcast b;
  if (!find_broadcast(ctx, c, &b)) return;
  if (answered_repeat(c, b, key)) return;
  if (b.status != "sent" && b.status != "failed")
    return c.respond(problem(409, "wrong-state", "Conflict",
                             "broadcast " + b.id + " is " + b.status +
                                 "; failed messages are resent once it has settled",
                             std::string(c.request.path())));
  std::map<std::string, std::uint64_t> counts;
  if (Status s = ctx.store.fan_outs().fan_out_counts(b.id, &counts); !s)
    return c.respond(unavailable(c.request, s));
  const std::uint64_t failed = counts.count("failed") ? counts["failed"] : 0;
  if (failed == 0)
    return c.respond(ok_json(200, {{"campaign_id", b.id}, {"messages_queued", 0}, {"status", b.status}}));
  start_send(ctx, c, std::move(b), json::object(), failed, key);
}

json message_view(const engine::FanOutItem& item) {
  const json detail = json::parse(item.detail, nullptr, false);
  const bool ok = detail.is_object();
  return {{"customer_id", item.key},
          {"rendered_content", ok ? detail.value("content", "") : ""},
          {"status", item.status},
          {"retry_count", item.attempts},
          {"last_error", item.error.empty() ? json(nullptr) : json(item.error)},
          {"gateway_message_id",
           ok && detail.contains("message_sid") ? detail["message_sid"] : json(nullptr)},
          {"delivery", ok && detail.contains("delivery") ? detail["delivery"] : json(nullptr)},
          {"created_at", engine::format_time(item.created_ms)},
          {"updated_at", engine::format_time(item.updated_ms)}};
}

void list_messages(ApiContext& ctx, const Call& c) {
  const Request& r = c.request;
  std::vector<phases::FieldError> errors;
  check_query_names(r, {"status", "cursor", "page_size"}, &errors);
  engine::FanOutItemQuery q;
  q.fan_out = c.params[0];
  q.status = r.query_param("status").value_or("");
  if (!q.status.empty() && !kMessageStatuses.count(q.status))
    errors.push_back({"status", "must be one of pending, sent, failed, skipped"});
  query_number(r, "page_size", 100, 1000, &q.limit, &errors);
  read_cursor(r, &q.after_ordinal, &errors);
  if (!errors.empty()) return c.respond(bad_query(r, errors));
  bc::Broadcast b;
  if (!find_broadcast(ctx, c, &b)) return;
  const std::size_t page_size = q.limit;
  q.limit += 1;
  std::vector<engine::FanOutItem> items;
  if (Status s = ctx.store.fan_outs().fan_out_items(q, &items); !s)
    return c.respond(unavailable(r, s));
  const bool more = items.size() > page_size;
  if (more) items.pop_back();
  json data = json::array();
  for (const engine::FanOutItem& item : items) data.push_back(message_view(item));
  json pagination = {{"page_size", page_size}};
  if (more) pagination["next_cursor"] = make_cursor(items.back().ordinal);
  c.respond(ok_json(200, {{"data", std::move(data)}, {"pagination", std::move(pagination)}}));
}

}  // namespace

std::vector<Route> broadcast_routes() {
  using P = Permission;
  return {
      {{"GET", "/v1/broadcasts", P::read}, list_broadcasts},
      {{"POST", "/v1/broadcasts", P::operate}, post_broadcast},
      {{"GET", "/v1/broadcasts/{id}", P::read}, get_broadcast},
      {{"POST", "/v1/broadcasts/{id}/send", P::operate}, post_send},
      {{"GET", "/v1/broadcasts/{id}/messages", P::read}, list_messages},
      {{"POST", "/v1/broadcasts/{id}/messages:retry", P::operate}, post_retry},
  };
}

}  // namespace orch::api
