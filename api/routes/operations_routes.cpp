// Health, readiness, metrics, the API's own documentation, and the services'
// circuit breakers.
#include <map>

#include "adapters/resilience/service_guard.h"
#include "api/router/api_docs.h"
#include "api/router/problem.h"
#include "api/router/replies.h"
#include "api/router/request_body.h"
#include "api/routes/api_routes.h"
#include "engine/journal/journal_store.h"
#include "engine/workflow/workflow_engine.h"
#include "observability/metrics.h"

namespace orch::api {

using http::Response;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxCorruptListed = 20;  // ids /ready names

void get_ready(ApiContext& ctx, const Call& c) {
  std::string body;
  bool found = false;
  Status s = ctx.store.get_draft("__readiness_probe__", &body, &found);
  if (!s) return c.respond(problem(503, "not-ready", "Not Ready", "store unreachable: " + s.message()));
  // Quarantined workflows are listed, not a reason to stop serving the
  // others: the node stays ready.
  const engine::WorkflowEngine& e = ctx.workflows;
  c.respond(ok_json(200, {{"status", "ready"},
                          {"active_workflows", e.active_count()},
                          {"resident_workflows", e.resident_count()},
                          {"known_workflows", e.known_count()},
                          {"corrupt_workflows", e.damaged_count()},
                          {"corrupt_workflow_ids", e.damaged_ids(kMaxCorruptListed)}}));
}

void get_metrics(ApiContext& ctx, const Call& c) {
  Response resp;
  resp.status = 200;
  resp.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  resp.body = ctx.metrics.serialize();
  c.respond(std::move(resp));
}

void post_breaker(ApiContext& ctx, const Call& c) {
  const http::Request& r = c.request;
  adapters::ServiceGuard* guard = ctx.guards ? ctx.guards->find(c.params[0]) : nullptr;
  if (!guard) return c.respond(not_found(r, "no adapter service " + c.params[0]));
  Response error;
  auto body = parse_object(r, false, &error);
  if (!body) return c.respond(std::move(error));
  auto errors = check_string_fields(*body, {{"state", true, 32}});
  const std::string state = body->value("state", "");
  static const std::map<std::string, resilience::BreakerState> kStates = {
      {"forced_open", resilience::BreakerState::forced_open},
      {"disabled", resilience::BreakerState::disabled},
      {"closed", resilience::BreakerState::closed}};
  if (errors.empty() && !kStates.count(state))
    errors.push_back({"state", "must be forced_open, disabled or closed"});
  if (!errors.empty()) return c.respond(invalid(r, "invalid breaker command", errors));
  guard->breaker().force(kStates.at(state));
  c.respond(ok_json(200, guard->describe()));
}

}  // namespace

std::vector<Route> operations_routes() {
  using P = Permission;
  return {
      {{"GET", "/health", P::read},
       [](ApiContext&, const Call& c) { c.respond(ok_json(200, {{"status", "ok"}})); }},
      {{"GET", "/ready", P::read}, get_ready},
      {{"GET", "/metrics", P::read}, get_metrics},
      {{"GET", "/openapi.json", P::read},
       [](ApiContext&, const Call& c) { c.respond(openapi_document()); }},
      {{"GET", "/docs", P::read}, [](ApiContext&, const Call& c) { c.respond(docs_page()); }},
      {{"GET", "/docs/{asset}", P::read},
       [](ApiContext&, const Call& c) {
         auto asset = docs_asset(c.params[0]);
         c.respond(asset ? std::move(*asset)
                         : not_found(c.request, "no documentation file " + c.params[0]));
       }},
      {{"GET", "/v1/adapters", P::read},
       [](ApiContext& ctx, const Call& c) {
         c.respond(ok_json(200, {{"data", ctx.guards ? ctx.guards->describe() : json::array()}}));
       }},
      {{"POST", "/v1/adapters/{service}/breaker", P::admin}, post_breaker},
  };
}

}  // namespace orch::api
