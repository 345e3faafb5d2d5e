// The REST API of CONTRACT.md as one request handler. Every body and
// parameter is validated before anything is touched; bad input gets an RFC
// 7807 problem and changes nothing.
#pragma once

#include <functional>
#include <string>

#include "adapters/http_server.h"
#include "adapters/service_guard.h"
#include "engine/journal_store.h"
#include "engine/workflow_engine.h"
#include "observability/metrics.h"

namespace orch::api {

class ApiRoutes {
 public:
  // REQUIRES: all arguments outlive this; handle() runs on the engine's thread.
  ApiRoutes(engine::WorkflowEngine& engine, engine::JournalStore& store,
            observability::Metrics& metrics, engine::Clock& clock,
            adapters::ServiceGuards* guards = nullptr);

  void handle(http::Request request, http::Responder respond);

 private:
  void route(const http::Request& request, const http::Responder& respond, std::string* route_name);
  void start_campaign(const http::Request& request, const http::Responder& respond);
  void save_wizard(const http::Request& request, const http::Responder& respond);
  void approve_wizard(const http::Request& request, const std::string& id,
                      const http::Responder& respond);
  void list_workflows(const http::Request& request, const http::Responder& respond);
  void get_history(const http::Request& request, const std::string& id,
                   const http::Responder& respond);
  void post_signal(const http::Request& request, const std::string& id, const std::string& name,
                   const http::Responder& respond);
  void post_update(const http::Request& request, const std::string& id, const std::string& name,
                   const http::Responder& respond);
  void post_cancel(const http::Request& request, const std::string& id,
                   const http::Responder& respond);
  void start_with_input(nlohmann::json input, std::string idempotency_key,
                        std::string traceparent, std::string instance,
                        const http::Responder& respond);

  engine::WorkflowEngine& engine_;
  engine::JournalStore& store_;
  observability::Metrics& metrics_;
  engine::Clock& clock_;
  adapters::ServiceGuards* guards_;
  std::uint64_t draft_counter_ = 0;
};

}  // namespace orch::api
