#include "api/routes/api_routes.h"

namespace orch::api {

std::vector<Route> ApiRoutes::all() {
  std::vector<Route> out;
  for (auto part : {operations_routes, campaign_routes, workflow_query_routes,
                    workflow_command_routes, user_routes, customer_routes,
                    broadcast_routes, webhook_routes, event_routes, trigger_routes,
                    dead_letter_routes}) {
    std::vector<Route> routes = part();
    out.insert(out.end(), routes.begin(), routes.end());
  }
  return out;
}

std::vector<RouteInfo> ApiRoutes::table() {
  std::vector<RouteInfo> out;
  for (const Route& route : all()) out.push_back(route.info);
  return out;
}

ApiRoutes::ApiRoutes(ApiContext context, const Authenticator* auth)
    : context_(std::move(context)), router_(all(), context_, context_.metrics, auth) {}

}  // namespace orch::api
