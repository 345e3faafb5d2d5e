// The user actors (phases/user_actor/): one durable entity per user holding
// its frequency caps, opt-outs, preferences and message history. Settings
// and opt-outs, the state and its eligibility answers, and the
// reserve-then-commit-or-release protocol every sender follows.
#include "api/router/problem.h"
#include "api/router/replies.h"
#include "api/router/request_body.h"
#include "api/routes/api_routes.h"
#include "engine/entity/entity_engine.h"
#include "phases/user_actor/frequency_rules.h"
#include "phases/user_actor/user_actor.h"
#include "phases/user_actor/user_requests.h"

namespace orch::api {

using engine::EntityCode;
using engine::EntityResult;
using http::Request;
using http::Responder;
using http::Response;
using nlohmann::json;
namespace actor = phases::user_actor;

namespace {

constexpr std::size_t kDefaultPageSize = 20;
constexpr std::size_t kMaxPageSize = 100;

Response entity_problem(const Request& r, const EntityResult& result) {
  const std::string instance(r.path());
  switch (result.code) {
    case EntityCode::not_found:
      return problem(404, "not-found", "Not Found", result.detail, instance);
    case EntityCode::conflict:
      return problem(409, "wrong-state", "Conflict", result.detail, instance);
    case EntityCode::invalid:
      return problem(422, "validation-error", "Invalid Request", result.detail, instance);
    case EntityCode::key_reused:
      return problem(409, "idempotency-key-reused", "Conflict", result.detail, instance);
    case EntityCode::unavailable:
      return problem(503, "journal-unavailable", "Service Unavailable", result.detail, instance);
    case EntityCode::damaged:
      return problem(500, "entity-damaged", "Entity Damaged", result.detail, instance);
    case EntityCode::ok:
    case EntityCode::unknown_kind:
    case EntityCode::unknown_handler:
      break;
  }
  return problem(500, "internal", "Internal Error", result.detail, instance);
}

// The user id of the path, or false after answering 404 (no such user can
// exist).
bool user_id(const Call& c, std::string* id) {
  *id = c.params[0];
  if (actor::valid_user_id(*id)) return true;
  c.respond(problem(404, "not-found", "Not Found",
                    "no user '" + *id + "' (ids are 1 to 128 of A-Z a-z 0-9 . _ - @ +)",
                    std::string(c.request.path())));
  return false;
}

// Parses and checks the body, or answers the problem and returns nullopt.
using Validator = std::vector<phases::FieldError> (*)(const json&);
std::optional<json> checked_body(const Call& c, Validator validate, const std::string& what) {
  Response error;
  auto body = parse_object(c.request, false, &error);
  if (!body) {
    c.respond(std::move(error));
    return std::nullopt;
  }
  if (auto errors = validate(*body); !errors.empty()) {
    c.respond(invalid(c.request, "invalid " + what, errors));
    return std::nullopt;
  }
  return body;
}

// An exclusive call of the user's actor, answered 200 once durable.
void call_actor(ApiContext& ctx, const Call& c, const std::string& id, const char* handler,
                json request, std::string idempotency_key, int status = 200) {
  ctx.entities.call(actor::kKind, id, handler, std::move(request), idempotency_key,
                    [respond = c.respond, r = c.request, status](EntityResult result) {
                      if (result.code != EntityCode::ok) return respond(entity_problem(r, result));
                      respond(ok_json(status, result.answer));
                    });
}

void put_user(ApiContext& ctx, const Call& c) {
  std::string id;
  if (!user_id(c, &id)) return;
  auto body = checked_body(c, actor::validate_settings, "user settings");
  if (!body) return;
  // 201 when this creates the user (or gives settings to one only opted out).
  const EntityResult before = ctx.entities.query(actor::kKind, id, "view", json::object());
  const bool created = before.code == EntityCode::not_found;
  if (!created && before.code != EntityCode::ok) return c.respond(entity_problem(c.request, before));
  call_actor(ctx, c, id, "configure", std::move(*body), "", created ? 201 : 200);
}

void get_user(ApiContext& ctx, const Call& c) {
  std::string id;
  if (!user_id(c, &id)) return;
  EntityResult view = ctx.entities.query(actor::kKind, id, "view", json::object());
  if (view.code != EntityCode::ok) return c.respond(entity_problem(c.request, view));
  c.respond(ok_json(200, view.answer));
}

void list_users(ApiContext& ctx, const Call& c) {
  const Request& r = c.request;
  std::vector<phases::FieldError> errors;
  check_query_names(r, {"page", "page_size"}, &errors);
  std::size_t page = 1, page_size = kDefaultPageSize;
  query_number(r, "page", 1, 1'000'000, &page, &errors);
  query_number(r, "page_size", kDefaultPageSize, kMaxPageSize, &page_size, &errors);
  if (!errors.empty()) return c.respond(bad_query(r, errors));
  std::vector<std::string> keys;
  std::size_t total = 0;
  if (Status s = ctx.entities.list(actor::kKind, (page - 1) * page_size, page_size, &keys, &total); !s)
    return c.respond(unavailable(r, s));
  json data = json::array();
  for (const std::string& key : keys) {
    EntityResult view = ctx.entities.query(actor::kKind, key, "view", json::object());
    if (view.code == EntityCode::ok) data.push_back(std::move(view.answer));
    else data.push_back({{"user_id", key}, {"error", view.detail}});
  }
  c.respond(ok_json(200, {{"data", std::move(data)},
                          {"pagination",
                           {{"page", page},
                            {"page_size", page_size},
                            {"total_count", total},
                            {"total_pages", (total + page_size - 1) / page_size}}}}));
}

void post_opt(ApiContext& ctx, const Call& c, bool out) {
  std::string id;
  if (!user_id(c, &id)) return;
  auto body = checked_body(c, actor::validate_channel_body, out ? "opt-out" : "opt-in");
  if (body) call_actor(ctx, c, id, out ? "opt_out" : "opt_in", std::move(*body), "");
}

void get_eligibility(ApiContext& ctx, const Call& c) {
  const Request& r = c.request;
  std::string id;
  if (!user_id(c, &id)) return;
  std::vector<phases::FieldError> errors;
  check_query_names(r, {"channel"}, &errors);
  auto channel = r.query_param("channel");
  if (!channel) errors.push_back({"channel", "is required"});
  else if (!actor::known_channel(*channel))
    errors.push_back({"channel", "must be one of email, social, blog, sms, whatsapp, push, in_app"});
  if (!errors.empty()) return c.respond(bad_query(r, errors));
  EntityResult answer =
      ctx.entities.query(actor::kKind, id, "eligibility", {{"channel", std::string(*channel)}});
  if (answer.code != EntityCode::ok) return c.respond(entity_problem(r, answer));
  c.respond(ok_json(200, answer.answer));
}

// A repeat with the same message_id gets the first answer: the message id is
// the call's idempotency key.
void post_reservation(ApiContext& ctx, const Call& c) {
  std::string id;
  if (!user_id(c, &id)) return;
  auto body = checked_body(c, actor::validate_reservation, "reservation");
  if (!body) return;
  std::string key = "reserve:" + (*body)["message_id"].get<std::string>();
  call_actor(ctx, c, id, "reserve", std::move(*body), std::move(key));
}

// Commit and release are idempotent too: a repeat gets the first answer.
void settle(ApiContext& ctx, const Call& c, bool commit) {
  std::string id;
  if (!user_id(c, &id)) return;
  Response error;
  auto body = parse_object(c.request, true, &error);
  if (!body) return c.respond(std::move(error));
  if (!body->empty())
    return c.respond(invalid(c.request, std::string(commit ? "commit" : "release") + " takes no body",
                             {{"", "must be empty"}}));
  const std::string& rid = c.params[1];
  const char* handler = commit ? "commit" : "release";
  call_actor(ctx, c, id, handler, {{"reservation_id", rid}}, std::string(handler) + ":" + rid);
}

}  // namespace

std::vector<Route> user_routes() {
  using P = Permission;
  return {
      {{"GET", "/v1/users", P::read}, list_users},
      {{"PUT", "/v1/users/{id}", P::operate}, put_user},
      {{"GET", "/v1/users/{id}", P::read}, get_user},
      {{"POST", "/v1/users/{id}/opt-out", P::operate},
       [](ApiContext& ctx, const Call& c) { post_opt(ctx, c, true); }},
      {{"POST", "/v1/users/{id}/opt-in", P::operate},
       [](ApiContext& ctx, const Call& c) { post_opt(ctx, c, false); }},
      {{"GET", "/v1/users/{id}/eligibility", P::read}, get_eligibility},
      {{"POST", "/v1/users/{id}/reservations", P::operate}, post_reservation},
      {{"POST", "/v1/users/{id}/reservations/{reservation_id}/commit", P::operate},
       [](ApiContext& ctx, const Call& c) { settle(ctx, c, true); }},
      {{"POST", "/v1/users/{id}/reservations/{reservation_id}/release", P::operate},
       [](ApiContext& ctx, const Call& c) { settle(ctx, c, false); }},
  };
}

}  // namespace orch::api
