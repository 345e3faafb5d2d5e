#include "api/routes/workflow_replies.h"

#include "api/router/problem.h"
#include "api/router/replies.h"

namespace orch::api {

using http::Request;
using http::Response;

// Why a query of one workflow found nothing to show.
Response query_problem(const std::string& instance, const engine::QueryResult& result) {
  switch (result.code) {
    case engine::QueryCode::damaged:
      return problem(500, "workflow-damaged", "Workflow Damaged",
                     result.detail + "; the workflow is quarantined (GET /v1/workflows?status=corrupt)",
                     instance);
    case engine::QueryCode::unavailable:
      return problem(503, "journal-unavailable", "Service Unavailable", result.detail, instance);
    case engine::QueryCode::not_found:
    case engine::QueryCode::found:
      break;
  }
  return problem(404, "workflow-not-found", "Workflow Not Found", result.detail, instance);
}

// 200 with the view, or the problem.
Response query_answer(const Request& r, const engine::QueryResult& result) {
  if (result.found()) return ok_json(200, result.body);
  return query_problem(std::string(r.path()), result);
}

Response signal_problem(const Request& r, const engine::SignalResult& result) {
  const std::string instance(r.path());
  switch (result.code) {
    case engine::SignalCode::not_found:
      return problem(404, "workflow-not-found", "Workflow Not Found", result.detail, instance);
    case engine::SignalCode::unknown_signal:
      return problem(404, "unknown-signal", "Unknown Signal", result.detail, instance);
    case engine::SignalCode::conflict:
      return problem(409, "wrong-state", "Conflict", result.detail, instance);
    case engine::SignalCode::forbidden:
      return problem(403, "reviewer-not-allowed", "Forbidden", result.detail, instance);
    case engine::SignalCode::invalid:
      return problem(422, "validation-error", "Invalid Request", result.detail, instance);
    case engine::SignalCode::unavailable:
      return problem(503, "journal-unavailable", "Service Unavailable", result.detail, instance);
    case engine::SignalCode::key_reused:
      return problem(409, "idempotency-key-reused", "Conflict", result.detail, instance);
    case engine::SignalCode::damaged:
      return query_problem(instance, {engine::QueryCode::damaged, nullptr, result.detail});
    case engine::SignalCode::too_large:
      return problem(413, "payload-too-large", "Payload Too Large", result.detail, instance);
    case engine::SignalCode::accepted:
    case engine::SignalCode::duplicate:
      break;
  }
  return problem(500, "internal", "Internal Error", "unexpected signal result", instance);
}

}  // namespace orch::api
