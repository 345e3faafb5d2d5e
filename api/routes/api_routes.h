// The REST API of CONTRACT.md: every resource's routes (one file each in
// this folder) in one Router. Every body and parameter is validated before
// anything is touched; bad input gets an RFC 7807 problem and changes
// nothing.
#pragma once

#include <vector>

#include "adapters/http/http_server.h"
#include "api/router/router.h"
#include "api/routes/api_context.h"

namespace orch::api {

// Each resource's routes, in dispatch order.
std::vector<Route> operations_routes();  // health, readiness, metrics, docs, adapters
std::vector<Route> campaign_routes();    // starting campaigns, wizard drafts
std::vector<Route> workflow_query_routes();    // a workflow's views
std::vector<Route> workflow_command_routes();  // signals, updates, cancel, pause, retry
std::vector<Route> user_routes();        // the user actors
std::vector<Route> customer_routes();    // customers: import, read, patch, list
std::vector<Route> broadcast_routes();   // templated broadcasts, their messages
std::vector<Route> webhook_routes();     // gateways' delivery receipts
std::vector<Route> event_routes();       // customer events: ingestion, what became of one
std::vector<Route> trigger_routes();     // trigger campaigns and their versions
std::vector<Route> dead_letter_routes(); // the trigger actions' dead-letter queue

class ApiRoutes {
 public:
  // Every route, in dispatch order. The metrics label a request with its
  // template, and tests/openapi_test checks docs/reference/openapi.json
  // against this table in both directions.
  static std::vector<RouteInfo> table();

  // REQUIRES: everything `context` refers to, `metrics` and `auth` (null:
  // no authentication) outlive this; handle() runs on the engine's thread.
  ApiRoutes(ApiContext context, const Authenticator* auth);

  void handle(http::Request request, http::Responder respond) {
    router_.handle(std::move(request), std::move(respond));
  }

 private:
  static std::vector<Route> all();

  ApiContext context_;
  Router router_;
};

}  // namespace orch::api
