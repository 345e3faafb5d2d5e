// The dead-letter queue of trigger actions (phases/triggers/): what could
// not be done, listed by trigger and error class, read with every attempt,
// replayed (by ids or a filter; a dry run lists what would be, changing
// nothing) and discarded. Replays and discards are audited with the caller
// and its token.
#include "api/router/problem.h"
#include "api/router/replies.h"
#include "api/router/request_body.h"
#include "api/routes/api_routes.h"
#include "api/routes/list_pages.h"
#include "engine/time/clock.h"
#include "engine/time/time_format.h"
#include "phases/triggers/event_triggers.h"

namespace orch::api {

using http::Request;
using http::Response;
using nlohmann::json;
namespace tr = phases::triggers;

namespace {

constexpr std::size_t kMaxReplay = 10'000;
const std::set<std::string> kErrorClasses = {tr::kRejected, tr::kRetriesExhausted,
                                             tr::kUnknownCustomer, tr::kInvalidAction};

// Who acts, for the audit trail: the token's subject and id.
json auditor(const Call& c) {
  if (!c.who) return {{"by", "anonymous"}, {"token", nullptr}};
  return {{"by", c.who->subject}, {"token", c.who->token_id}};
}

void check_filter(const std::string& trigger, const std::string& error_class, const std::string& at,
                  std::vector<phases::FieldError>* errors) {
  if (!error_class.empty() && !kErrorClasses.count(error_class))
    errors->push_back({at + "error_class",
                       "must be one of rejected, retries_exhausted, unknown_customer, invalid_action"});
  if (trigger.size() > 128) errors->push_back({at + "trigger", "is too long"});
}

void list_letters(ApiContext& ctx, const Call& c) {
  const Request& r = c.request;
  std::vector<phases::FieldError> errors;
  check_query_names(r, {"trigger", "error_class", "page_size", "cursor"}, &errors);
  const std::string trigger = r.query_param("trigger").value_or("");
  const std::string error_class = r.query_param("error_class").value_or("");
  check_filter(trigger, error_class, "", &errors);
  std::size_t limit = kDefaultListPage;
  std::int64_t cursor = 0;
  query_number(r, "page_size", kDefaultListPage, kMaxListPage, &limit, &errors);
  read_cursor(r, &cursor, &errors);
  if (!errors.empty()) return c.respond(bad_query(r, errors));
  json rows;
  std::vector<engine::Document> page;
  bool more = false;
  if (Status s = ctx.triggers->dead_letters(trigger, error_class, cursor, limit, &rows, &page, &more); !s)
    return c.respond(unavailable(r, s));
  c.respond(ok_json(200, {{"data", std::move(rows)}, {"pagination", cursor_pagination(limit, more, page)}}));
}

void get_letter(ApiContext& ctx, const Call& c) {
  json view;
  Status error;
  if (ctx.triggers->dead_letter_view(c.params[0], &view, &error)) return c.respond(ok_json(200, view));
  c.respond(error ? not_found(c.request, "no dead letter '" + c.params[0] + "'")
                  : unavailable(c.request, error));
}

// The dead letters a replay names: its ids, or every one its filter
// matches (at most kMaxReplay); false after answering.
bool select_letters(ApiContext& ctx, const Call& c, const json& body, std::vector<std::string>* ids,
                    json* rows) {
  std::vector<phases::FieldError> errors;
  for (const auto& item : body.items())
    if (item.key() != "ids" && item.key() != "filter" && item.key() != "dry_run" &&
        item.key() != "max_per_second")
      errors.push_back({item.key(), "is not a known field"});
  if (body.contains("ids") == body.contains("filter"))
    errors.push_back({"", "give exactly one of ids and filter"});
  if (body.contains("dry_run") && !body["dry_run"].is_boolean())
    errors.push_back({"dry_run", "must be a boolean"});
  if (body.contains("max_per_second") &&
      (!body["max_per_second"].is_number() || body["max_per_second"].get<double>() < 0.1 ||
       body["max_per_second"].get<double>() > 10'000))
    errors.push_back({"max_per_second", "must be a number from 0.1 to 10000"});
  std::string trigger, error_class;
  if (body.contains("ids")) {
    const json& v = body["ids"];
    if (!v.is_array() || v.empty() || v.size() > kMaxReplay)
      errors.push_back({"ids", "must be an array of 1 to 10,000 dead letter ids"});
    else
      for (const json& id : v) {
        if (!id.is_string() || id.get<std::string>().empty()) {
          errors.push_back({"ids", "must hold dead letter id strings"});
          break;
        }
        ids->push_back(id.get<std::string>());
      }
  } else if (body.contains("filter")) {
    const json& f = body["filter"];
    if (!f.is_object()) {
      errors.push_back({"filter", "must be an object"});
    } else {
      for (const auto& item : f.items())
        if ((item.key() != "trigger" && item.key() != "error_class") || !item.value().is_string())
          errors.push_back({"filter." + item.key(), "is not a filter (trigger, error_class: strings)"});
      trigger = f.value("trigger", json("")).is_string() ? f.value("trigger", "") : "";
      error_class = f.value("error_class", json("")).is_string() ? f.value("error_class", "") : "";
      check_filter(trigger, error_class, "filter.", &errors);
    }
  }
  if (!errors.empty()) {
    c.respond(invalid(c.request, "invalid replay", errors));
    return false;
  }
  *rows = json::array();
  if (body.contains("ids")) {
    for (const std::string& id : *ids) {
      json view;
      Status error;
      if (ctx.triggers->dead_letter_view(id, &view, &error)) rows->push_back(std::move(view));
      else if (!error) return c.respond(unavailable(c.request, error)), false;
    }
    return true;
  }
  for (std::int64_t cursor = 0; ids->size() < kMaxReplay;) {
    json page_rows;
    std::vector<engine::Document> page;
    bool more = false;
    if (Status s = ctx.triggers->dead_letters(trigger, error_class, cursor, 500, &page_rows, &page, &more); !s)
      return c.respond(unavailable(c.request, s)), false;
    for (std::size_t i = 0; i < page.size() && ids->size() < kMaxReplay; ++i) {
      ids->push_back(page[i].id);
      rows->push_back(std::move(page_rows[i]));
    }
    if (!more || page.empty()) break;
    cursor = page.back().seq;
  }
  return true;
}

void replay_letters(ApiContext& ctx, const Call& c) {
  Response error;
  auto body = parse_object(c.request, false, &error);
  if (!body) return c.respond(std::move(error));
  std::vector<std::string> ids;
  json rows;
  if (!select_letters(ctx, c, *body, &ids, &rows)) return;
  if (body->value("dry_run", false)) {
    json letters = json::array();
    for (const json& row : rows)
      letters.push_back({{"id", row.value("id", "")}, {"trigger", row.value("trigger", "")},
                         {"error_class", row.value("error_class", "")},
                         {"error", row.value("error", "")}, {"event", row.value("event", json())}});
    return c.respond(ok_json(200, {{"dry_run", true}, {"count", letters.size()},
                                   {"dead_letters", std::move(letters)}}));
  }
  ctx.triggers->replay(std::move(ids), body->value("max_per_second", 100.0), auditor(c),
                       [respond = c.respond, r = c.request](const Status& s, const json& outcome) {
                         if (!s) return respond(unavailable(r, s));
                         std::size_t replaying = 0;
                         for (const auto& item : outcome.items()) replaying += item.value() == "replaying";
                         respond(ok_json(202, {{"dry_run", false}, {"replaying", replaying},
                                               {"results", outcome}}));
                       });
}

void delete_letter(ApiContext& ctx, const Call& c) {
  ctx.triggers->discard(
      c.params[0], auditor(c),
      [&ctx, respond = c.respond, r = c.request, id = c.params[0], who = auditor(c)](
          const Status& s, tr::EventTriggers::Discard outcome) {
        if (!s) return respond(unavailable(r, s));
        if (outcome == tr::EventTriggers::Discard::not_found)
          return respond(not_found(r, "no dead letter '" + id + "'"));
        if (outcome == tr::EventTriggers::Discard::replaying)
          return respond(problem(409, "dead-letter-replaying", "Conflict",
                                 "dead letter '" + id + "' is being replayed; discard it if the "
                                 "replay fails",
                                 std::string(r.path())));
        json body = who;
        body["id"] = id;
        body["discarded_at"] = engine::format_time(ctx.clock.now_ms());
        respond(ok_json(200, body));
      });
}

}  // namespace

std::vector<Route> dead_letter_routes() {
  return {{{"GET", "/v1/dead-letters", Permission::read}, list_letters},
          {{"POST", "/v1/dead-letters:replay", Permission::operate}, replay_letters},
          {{"GET", "/v1/dead-letters/{id}", Permission::read}, get_letter},
          {{"DELETE", "/v1/dead-letters/{id}", Permission::operate}, delete_letter}};
}

}  // namespace orch::api
