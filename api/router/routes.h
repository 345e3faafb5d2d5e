// The REST API of CONTRACT.md as one request handler. Every body and
// parameter is validated before anything is touched; bad input gets an RFC
// 7807 problem and changes nothing.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http/http_server.h"
#include "adapters/resilience/service_guard.h"
#include "api/server/auth.h"
#include "engine/journal/journal_store.h"
#include "engine/workflow/workflow_engine.h"
#include "observability/metrics.h"

namespace orch::api {

// One route of the REST API: a method and a path template whose "{name}"
// segments each match one path segment, and what a caller needs to use it.
struct RouteInfo {
  std::string_view method;
  std::string_view path;
  Permission permission;
};

class ApiRoutes {
 public:
  // Every route, in dispatch order. This table is the dispatcher: a request
  // whose path matches no template gets 404, one whose path matches but
  // whose method does not gets 405 with the table's methods in Allow. The
  // metrics label a request with its template, and tests/openapi_test checks
  // docs/reference/openapi.json against the table in both directions.
  static std::vector<RouteInfo> table();

  // REQUIRES: all arguments outlive this; handle() runs on the engine's thread.
  ApiRoutes(engine::WorkflowEngine& engine, engine::JournalStore& store,
            observability::Metrics& metrics, engine::Clock& clock,
            adapters::ServiceGuards* guards = nullptr, const Authenticator* auth = nullptr);

  void handle(http::Request request, http::Responder respond);

 private:
  // A matched request: the path's "{name}" segments in order, percent-decoded.
  struct Call {
    const http::Request& request;
    const std::vector<std::string>& params;
    const Principal* who;  // the caller when authentication is on, else nullptr
    const http::Responder& respond;
  };
  using Handler = void (*)(ApiRoutes& self, const Call& call);
  struct Route {
    RouteInfo info;
    Handler handler;
  };
  static const std::vector<Route>& routes();

  void route(const http::Request& request, const http::Responder& respond, std::string* route_name);
  void get_ready(const Call& call);
  void get_progress(const Call& call);
  void post_breaker(const Call& call);
  void post_retry(const Call& call);
  // `who` is the caller when authentication is on, else nullptr.
  void start_campaign(const http::Request& request, const Principal* who,
                      const http::Responder& respond);
  void save_wizard(const http::Request& request, const Principal* who,
                   const http::Responder& respond);
  void approve_wizard(const http::Request& request, const std::string& id, const Principal* who,
                      const http::Responder& respond);
  void list_workflows(const http::Request& request, const http::Responder& respond);
  void get_history(const http::Request& request, const std::string& id,
                   const http::Responder& respond);
  void post_signal(const http::Request& request, const std::string& id, const std::string& name,
                   const Principal* who, const http::Responder& respond);
  void post_update(const http::Request& request, const std::string& id, const std::string& name,
                   const Principal* who, const http::Responder& respond);
  void post_cancel(const http::Request& request, const std::string& id, const Principal* who,
                   const http::Responder& respond);
  void post_hold(const http::Request& request, const std::string& id, bool pause,
                 const Principal* who, const http::Responder& respond);
  void start_with_input(nlohmann::json input, std::string idempotency_key,
                        std::string traceparent, std::string instance, nlohmann::json actor,
                        const http::Responder& respond);
  // Authenticates and authorises for `need`; false after answering 401 or 403.
  bool admit(const http::Request& request, Permission need, std::optional<Principal>* who,
             const http::Responder& respond);

  engine::WorkflowEngine& engine_;
  engine::JournalStore& store_;
  observability::Metrics& metrics_;
  engine::Clock& clock_;
  adapters::ServiceGuards* guards_;
  const Authenticator* auth_;
  std::uint64_t draft_counter_ = 0;
};

}  // namespace orch::api
