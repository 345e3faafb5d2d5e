// Trigger campaigns (phases/triggers/): "when a customer event of this type
// meets these conditions, do this for the customer". Created, read, listed
// (filtered by active and event type, with a cursor), and changed by a
// merge patch (activate, deactivate, anything else): every change is a new
// version, listed at /versions; an event is matched against the version in
// force when it was accepted.
#include "api/router/problem.h"
#include "api/router/replies.h"
#include "api/router/request_body.h"
#include "api/routes/api_routes.h"
#include "api/routes/list_pages.h"
#include "engine/journal/journal_store.h"
#include "phases/triggers/event_triggers.h"
#include "phases/triggers/trigger_rule.h"

namespace orch::api {

using http::Request;
using http::Response;
using nlohmann::json;
namespace tr = phases::triggers;

namespace {

// Answers a save: `status` with the stored trigger (a new one with its
// Location), or 503.
auto answer_saved(const Call& c, int status) {
  return [respond = c.respond, r = c.request, status](const Status& s, const json& stored) {
    if (!s) return respond(unavailable(r, s));
    http::Response answer = ok_json(status, stored);
    if (status == 201)
      answer.headers.emplace_back("Location", "/v1/triggers/" + stored.value("id", ""));
    respond(std::move(answer));
  };
}

void post_trigger(ApiContext& ctx, const Call& c) {
  Response error;
  auto body = parse_object(c.request, false, &error);
  if (!body) return c.respond(std::move(error));
  if (auto errors = tr::check_trigger(*body, tr::TriggerCheck::create); !errors.empty())
    return c.respond(invalid(c.request, "invalid trigger", errors));
  ctx.triggers->catalog().create(*body, answer_saved(c, 201));
}

void get_trigger(ApiContext& ctx, const Call& c) {
  const json* stored = ctx.triggers->catalog().current(c.params[0]);
  c.respond(stored ? ok_json(200, *stored) : not_found(c.request, "no trigger '" + c.params[0] + "'"));
}

void patch_trigger(ApiContext& ctx, const Call& c) {
  Response error;
  auto body = parse_object(c.request, false, &error);
  if (!body) return c.respond(std::move(error));
  if (!ctx.triggers->catalog().current(c.params[0]))
    return c.respond(not_found(c.request, "no trigger '" + c.params[0] + "'"));
  if (auto errors = tr::check_trigger(*body, tr::TriggerCheck::patch); !errors.empty())
    return c.respond(invalid(c.request, "invalid trigger patch", errors));
  ctx.triggers->catalog().patch(c.params[0], *body, answer_saved(c, 200));
}

// One page of documents of `q` as {"data", "pagination"}; false after answering.
bool list_page(ApiContext& ctx, const Call& c, engine::DocumentQuery q, json* out) {
  std::vector<engine::Document> rows;
  bool more = false;
  if (Status s = ctx.store.documents().list_documents(q, &rows, &more); !s) {
    c.respond(unavailable(c.request, s));
    return false;
  }
  json data = json::array();
  for (const engine::Document& d : rows) data.push_back(json::parse(d.body, nullptr, false));
  *out = {{"data", std::move(data)}, {"pagination", cursor_pagination(q.limit, more, rows)}};
  return true;
}

void list_triggers(ApiContext& ctx, const Call& c) {
  const Request& r = c.request;
  std::vector<phases::FieldError> errors;
  check_query_names(r, {"active", "event_type", "page_size", "cursor"}, &errors);
  engine::DocumentQuery q{tr::kTriggers, r.query_param("active").value_or(""),
                          r.query_param("event_type").value_or(""), 0, kDefaultListPage};
  if (!q.index_a.empty() && q.index_a != "true" && q.index_a != "false")
    errors.push_back({"active", "must be true or false"});
  query_number(r, "page_size", kDefaultListPage, kMaxListPage, &q.limit, &errors);
  read_cursor(r, &q.before_seq, &errors);
  if (!errors.empty()) return c.respond(bad_query(r, errors));
  json page;
  if (list_page(ctx, c, q, &page)) c.respond(ok_json(200, page));
}

void list_versions(ApiContext& ctx, const Call& c) {
  const Request& r = c.request;
  if (!ctx.triggers->catalog().current(c.params[0]))
    return c.respond(not_found(r, "no trigger '" + c.params[0] + "'"));
  std::vector<phases::FieldError> errors;
  check_query_names(r, {"page_size", "cursor"}, &errors);
  engine::DocumentQuery q{tr::kTriggerVersions, c.params[0], "", 0, kDefaultListPage};
  query_number(r, "page_size", kDefaultListPage, kMaxListPage, &q.limit, &errors);
  read_cursor(r, &q.before_seq, &errors);
  if (!errors.empty()) return c.respond(bad_query(r, errors));
  json page;
  if (list_page(ctx, c, q, &page)) c.respond(ok_json(200, page));
}

}  // namespace

std::vector<Route> trigger_routes() {
  return {{{"POST", "/v1/triggers", Permission::operate}, post_trigger},
          {{"GET", "/v1/triggers", Permission::read}, list_triggers},
          {{"GET", "/v1/triggers/{id}", Permission::read}, get_trigger},
          {{"PATCH", "/v1/triggers/{id}", Permission::operate}, patch_trigger},
          {{"GET", "/v1/triggers/{id}/versions", Permission::read}, list_versions}};
}

}  // namespace orch::api
