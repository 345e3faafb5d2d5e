// Starting campaigns: POST /v1/campaigns with a CampaignInput, and the
// wizard's drafts, saved and then approved into a campaign.
#include "api/router/problem.h"
#include "api/router/replies.h"
#include "api/router/request_body.h"
#include "api/routes/api_routes.h"
#include "engine/journal/journal_store.h"
#include "engine/workflow/workflow_engine.h"
#include "phases/campaign/campaign_definition.h"
#include "phases/campaign/campaign_input.h"

namespace orch::api {

using http::Request;
using http::Responder;
using http::Response;
using nlohmann::json;

namespace {

void start_with_input(ApiContext& ctx, json input, std::string idempotency_key,
                      std::string traceparent, std::string instance, json actor,
                      const Responder& respond);

void start_campaign(ApiContext& ctx, const Call& c) {
  const Request& r = c.request;
  const Principal* who = c.who;
  const Responder& respond = c.respond;
  Response error;
  auto body = parse_object(r, false, &error);
  if (!body) return respond(std::move(error));
  std::string key;
  if (!read_idempotency_key(r, &key, &error)) return respond(std::move(error));
  auto errors = phases::validate_campaign_input(*body);
  if (!errors.empty())
    return respond(invalid(r, "the CampaignInput is invalid", errors));
  if (!bind_identity(*body, "submitted_by", who, r, respond)) return;
  start_with_input(ctx, std::move(*body), std::move(key),
                   std::string(r.header("traceparent").value_or("")), std::string(r.path()),
                   actor_of(who), respond);
}

void start_with_input(ApiContext& ctx, json input, std::string idempotency_key,
                      std::string traceparent, std::string instance, json actor,
                      const Responder& respond) {
  engine::StartRequest req;
  req.definition = phases::kCampaignWorkflow;
  req.workflow_id = input.value("workflow_id", "");
  if (req.workflow_id.empty())
    req.workflow_id =
        phases::campaign_workflow_id(input.value("campaign_name", ""), random_suffix());
  req.idempotency_key = std::move(idempotency_key);
  req.traceparent = std::move(traceparent);
  req.input = std::move(input);
  req.actor = std::move(actor);
  ctx.workflows.start(std::move(req), [respond, instance](engine::StartResult result) {
    switch (result.code) {
      case engine::StartCode::created:
      case engine::StartCode::existing: {
        Response resp = ok_json(result.code == engine::StartCode::created ? 201 : 200,
                                {{"workflow_id", result.workflow_id},
                                 {"run_id", result.run_id},
                                 {"status", result.status}});
        resp.headers.emplace_back("Location", "/v1/workflows/" + result.workflow_id);
        return respond(std::move(resp));
      }
      case engine::StartCode::conflict:
        return respond(problem(409, "workflow-exists", "Conflict", result.detail, instance));
      case engine::StartCode::invalid:
        return respond(problem(422, "validation-error", "Invalid Request", result.detail,
                               instance));
    }
  });
}

void save_wizard(ApiContext& ctx, const Call& c) {
  const Request& r = c.request;
  const Principal* who = c.who;
  const Responder& respond = c.respond;
  Response error;
  auto body = parse_object(r, false, &error);
  if (!body) return respond(std::move(error));
  auto errors = phases::validate_campaign_input(*body);
  if (!errors.empty()) return respond(invalid(r, "the CampaignInput draft is invalid", errors));
  if (!bind_identity(*body, "submitted_by", who, r, respond)) return;
  const std::string id = "wiz-" + random_suffix() + std::to_string(++ctx.draft_counter);
  if (Status s = ctx.store.put_draft(id, body->dump(), ctx.clock.now_ms()); !s)
    return respond(problem(503, "store-unavailable", "Service Unavailable",
                           "the draft could not be saved", std::string(r.path())));
  respond(ok_json(201, {{"wizard_id", id}, {"status", "draft"}, {"input", *body}}));
}

void approve_wizard(ApiContext& ctx, const Call& c) {
  const Request& r = c.request;
  const std::string& id = c.params[0];
  const Principal* who = c.who;
  const Responder& respond = c.respond;
  Response error;
  auto body = parse_object(r, true, &error);
  if (!body) return respond(std::move(error));
  if (!body->empty())
    return respond(invalid(r, "approving a wizard takes no body", {{"", "must be empty"}}));
  std::string text;
  bool found = false;
  if (Status s = ctx.store.get_draft(id, &text, &found); !s)
    return respond(problem(503, "store-unavailable", "Service Unavailable", s.message(),
                           std::string(r.path())));
  if (!found) return respond(not_found(r, "no wizard draft " + id));
  json input = json::parse(text, nullptr, false);
  if (!input.is_object()) return respond(problem(500, "internal", "Internal Error", "bad draft"));
  if (!input.contains("workflow_id")) input["workflow_id"] = phases::campaign_workflow_id(
      input.value("campaign_name", ""), id.substr(4));
  // Approving twice returns the same workflow (its id derives from the draft).
  start_with_input(ctx, std::move(input), "", std::string(r.header("traceparent").value_or("")),
                   std::string(r.path()), actor_of(who), [respond](Response resp) {
                     if (resp.status == 200) resp.status = 201;
                     respond(std::move(resp));
                   });
}

}  // namespace

std::vector<Route> campaign_routes() {
  using P = Permission;
  return {
      {{"POST", "/v1/campaigns", P::operate}, start_campaign},
      {{"POST", "/v1/wizards", P::operate}, save_wizard},
      {{"POST", "/v1/wizards/{id}/approve", P::operate}, approve_wizard},
  };
}

}  // namespace orch::api
