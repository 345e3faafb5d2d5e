// What callers tell a workflow: human signals and updates (approve, reject,
// update_content), cancel, pause and resume, and an operator's retry.
#include "api/router/problem.h"
#include "api/router/replies.h"
#include "api/router/request_body.h"
#include "api/routes/api_routes.h"
#include "api/routes/workflow_replies.h"
#include "engine/workflow/workflow_engine.h"

namespace orch::api {

using http::Request;
using http::Responder;
using http::Response;
using nlohmann::json;

namespace {

constexpr std::size_t kCommentMax = 2000;
constexpr std::size_t kContentMax = 20000;

void post_retry(ApiContext& ctx, const Call& c) {
  Response error;
  auto body = parse_object(c.request, true, &error);
  if (!body) return c.respond(std::move(error));
  auto errors = check_string_fields(*body, {{"reason", false, kCommentMax}});
  if (!errors.empty()) return c.respond(invalid(c.request, "invalid retry request", errors));
  ctx.workflows.redrive(c.params[0], body->value("reason", "redriven by an operator"),
                  [respond = c.respond, r = c.request](engine::SignalResult result) {
                    if (result.code == engine::SignalCode::accepted)
                      return respond(ok_json(202, {{"status", "retrying"}}));
                    respond(signal_problem(r, result));
                  });
}

// The body schema of a human action; with authentication on the reviewer
// comes from the token, so the body may leave it out.
std::vector<StringField> action_schema(const std::string& name, bool authenticated) {
  const bool need_reviewer = !authenticated;
  if (name == "approve") return {{"reviewer", need_reviewer, 200}, {"comment", false, kCommentMax}};
  if (name == "reject") return {{"reviewer", need_reviewer, 200}, {"reason", true, kCommentMax}};
  if (name == "update_content")
    return {{"content_id", true, 100}, {"new_content", true, kContentMax}};
  return {};
}

void post_signal(ApiContext& ctx, const Call& c, const std::string& name) {
  const Request& r = c.request;
  const std::string& id = c.params[0];
  const Principal* who = c.who;
  const Responder& respond = c.respond;
  std::vector<StringField> schema = action_schema(name, who != nullptr);
  Response error;
  auto body = parse_object(r, false, &error);
  if (!body) return respond(std::move(error));
  std::string key;
  if (!read_idempotency_key(r, &key, &error)) return respond(std::move(error));
  if (!key.empty()) key = "signal:" + key;
  auto errors = check_string_fields(*body, schema);
  if (!errors.empty()) return respond(invalid(r, "invalid " + name + " signal", errors));
  if (name != "update_content" && !bind_identity(*body, "reviewer", who, r, respond)) return;
  if (who) (*body)["actor"] = who->actor();
  const std::string ack = name == "update_content" ? "content_updated" : "signal_sent";
  ctx.workflows.signal(id, name, std::move(*body), key,
                 [respond, r, ack](engine::SignalResult result) {
                   if (result.code == engine::SignalCode::accepted ||
                       result.code == engine::SignalCode::duplicate)
                     return respond(ok_json(202, {{"status", ack}}));
                   respond(signal_problem(r, result));
                 });
}

// Updates: the validator runs first (here and in the engine) and a refusal
// journals nothing; an accepted update answers with the new state once it is
// durable.
void post_update(ApiContext& ctx, const Call& c, const std::string& name) {
  const Request& r = c.request;
  const std::string& id = c.params[0];
  const Principal* who = c.who;
  const Responder& respond = c.respond;
  std::vector<StringField> schema = action_schema(name, who != nullptr);
  Response error;
  auto body = parse_object(r, false, &error);
  if (!body) {
    // An update's unreadable body is a 422 (CONTRACT.md), with a matching
    // problem document; other parse errors (415) pass through.
    if (error.status != 400) return respond(std::move(error));
    return respond(problem(422, "malformed-body", "Invalid Request",
                           "the " + name + " update needs a JSON object body",
                           std::string(r.path())));
  }
  auto errors = check_string_fields(*body, schema);
  if (!errors.empty()) return respond(invalid(r, "invalid " + name + " update", errors));
  const std::string instance(r.path());
  if (const std::string* why = ctx.workflows.damage(id))
    return respond(query_problem(instance, {engine::QueryCode::damaged, nullptr, *why}));
  const engine::WorkflowSummary* summary = ctx.workflows.summary(id);
  if (!summary)
    return respond(query_problem(instance, {engine::QueryCode::not_found, nullptr, "no workflow " + id}));
  if (name != "update_content" && summary->status != "awaiting_approval")
    return respond(problem(409, "not-awaiting-review", "Conflict",
                           "workflow " + id + " is " + summary->status + ", not awaiting approval",
                           std::string(r.path())));
  if (name != "update_content" && !bind_identity(*body, "reviewer", who, r, respond)) return;
  if (who) (*body)["actor"] = who->actor();
  ctx.workflows.signal(id, name, std::move(*body), "", [&ctx, respond, r, id](engine::SignalResult res) {
    if (res.code != engine::SignalCode::accepted) return respond(signal_problem(r, res));
    engine::QueryResult approvals = ctx.workflows.approvals(id);
    respond(ok_json(200, approvals.found() ? approvals.body : json::object()));
  });
}

void post_cancel(ApiContext& ctx, const Call& c) {
  const Request& r = c.request;
  const std::string& id = c.params[0];
  const Principal* who = c.who;
  const Responder& respond = c.respond;
  Response error;
  auto body = parse_object(r, true, &error);
  if (!body) return respond(std::move(error));
  auto errors = check_string_fields(*body, {{"reason", false, kCommentMax}});
  if (!errors.empty()) return respond(invalid(r, "invalid cancel request", errors));
  ctx.workflows.cancel(id, body->value("reason", "cancelled by request"), actor_of(who),
                 [respond, r](engine::SignalResult result) {
                   if (result.code == engine::SignalCode::accepted)
                     return respond(ok_json(202, {{"status", "cancelling"}}));
                   respond(signal_problem(r, result));
                 });
}

void post_hold(ApiContext& ctx, const Call& c, bool pause) {
  const Request& r = c.request;
  const std::string& id = c.params[0];
  const Principal* who = c.who;
  const Responder& respond = c.respond;
  Response error;
  auto body = parse_object(r, true, &error);
  if (!body) return respond(std::move(error));
  auto errors = check_string_fields(*body, {{"reason", false, kCommentMax}});
  if (!errors.empty())
    return respond(invalid(r, std::string("invalid ") + (pause ? "pause" : "resume") + " request",
                           errors));
  const std::string reason =
      body->value("reason", pause ? "paused by an operator" : "resumed by an operator");
  ctx.workflows.hold(id, pause, reason, actor_of(who),
               [respond, r, pause](engine::SignalResult result) {
                 if (result.code == engine::SignalCode::accepted)
                   return respond(ok_json(202, {{"status", pause ? "paused" : "resuming"}}));
                 respond(signal_problem(r, result));
               });
}

}  // namespace

std::vector<Route> workflow_command_routes() {
  using P = Permission;
  return {
      {{"POST", "/v1/workflows/{id}/signals/approve", P::review},
       [](ApiContext& ctx, const Call& c) { post_signal(ctx, c, "approve"); }},
      {{"POST", "/v1/workflows/{id}/signals/reject", P::review},
       [](ApiContext& ctx, const Call& c) { post_signal(ctx, c, "reject"); }},
      {{"POST", "/v1/workflows/{id}/signals/update_content", P::operate},
       [](ApiContext& ctx, const Call& c) { post_signal(ctx, c, "update_content"); }},
      {{"POST", "/v1/workflows/{id}/updates/approve", P::review},
       [](ApiContext& ctx, const Call& c) { post_update(ctx, c, "approve"); }},
      {{"POST", "/v1/workflows/{id}/updates/reject", P::review},
       [](ApiContext& ctx, const Call& c) { post_update(ctx, c, "reject"); }},
      {{"POST", "/v1/workflows/{id}/updates/update_content", P::operate},
       [](ApiContext& ctx, const Call& c) { post_update(ctx, c, "update_content"); }},
      {{"POST", "/v1/workflows/{id}/cancel", P::operate}, post_cancel},
      {{"POST", "/v1/workflows/{id}/pause", P::operate},
       [](ApiContext& ctx, const Call& c) { post_hold(ctx, c, true); }},
      {{"POST", "/v1/workflows/{id}/resume", P::operate},
       [](ApiContext& ctx, const Call& c) { post_hold(ctx, c, false); }},
      {{"POST", "/v1/workflows/{id}/retry", P::operate}, post_retry},
  };
}

}  // namespace orch::api
