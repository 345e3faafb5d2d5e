// The REST API's dispatcher: a table of routes, each a method, a path
// template whose "{name}" segments each match one path segment, what a
// caller needs to use it, and its handler. A request whose path matches no
// template gets 404, one whose path matches but whose method does not gets
// 405 with the table's methods in Allow. Authentication comes first (an
// unknown path answers 401 to a stranger, not 404); every request is timed
// and counted under its route's template. The routes themselves live in
// api/routes/, one file per resource.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http/http_server.h"
#include "api/server/auth.h"

namespace orch::observability {
class Metrics;
}

namespace orch::api {

struct ApiContext;  // what handlers work with (api/routes/api_context.h)

struct RouteInfo {
  std::string_view method;
  std::string_view path;
  Permission permission;
};

// A matched request: the path's "{name}" segments in order, percent-decoded.
struct Call {
  const http::Request& request;
  const std::vector<std::string>& params;
  const Principal* who;  // the caller when authentication is on, else nullptr
  const http::Responder& respond;
};

using Handler = void (*)(ApiContext& context, const Call& call);

struct Route {
  RouteInfo info;
  Handler handler;
};

class Router {
 public:
  // REQUIRES: `context`, `metrics` and `auth` (may be null: no
  // authentication) outlive this.
  Router(std::vector<Route> routes, ApiContext& context, observability::Metrics& metrics,
         const Authenticator* auth);

  // Answers `request` through `respond` (now or later); never throws.
  void handle(http::Request request, http::Responder respond);

 private:
  void route(const http::Request& request, const http::Responder& respond,
             std::string* route_name);
  // Authenticates and authorises for `need`; false after answering 401 or 403.
  bool admit(const http::Request& request, Permission need, std::optional<Principal>* who,
             const http::Responder& respond);

  // Constant after construction.
  const std::vector<Route> routes_;
  ApiContext& context_;
  observability::Metrics& metrics_;
  const Authenticator* auth_;
};

}  // namespace orch::api
