// What a step does. The engine owns this interface; phases/ implements the
// campaign's activities on top of the service ports that adapters/ fill in.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace orch::engine {

// `unavailable`: the call was not sent because the service's circuit breaker,
// bulkhead or rate limit refused it. The step waits for the service without
// consuming an attempt (see WorkflowEngine).
enum class ActivityOutcomeKind { ok, retryable, permanent, unavailable };

struct ActivityOutcome {
  ActivityOutcomeKind kind = ActivityOutcomeKind::ok;
  nlohmann::json output;  // on ok: what later steps and compensations see
  std::string error;      // otherwise; must not contain secrets
  std::chrono::milliseconds retry_after{0};  // a server's Retry-After, if any
  int http_status = 0;  // the service's answer, when there was one

  static ActivityOutcome success(nlohmann::json output) {
    return {ActivityOutcomeKind::ok, std::move(output), {}, {}, 0};
  }
  static ActivityOutcome failure(ActivityOutcomeKind kind, std::string error,
                                 std::chrono::milliseconds retry_after = {}, int http_status = 0) {
    return {kind, nullptr, std::move(error), retry_after, http_status};
  }
};

// Everything an activity may read. References stay valid only during run().
struct ActivityRequest {
  const std::string& workflow_id;
  const std::string& step_id;
  int attempt;
  const std::string& idempotency_key;  // "{workflow_id}:{step}" (+":compensate")
  std::chrono::milliseconds timeout;
  const nlohmann::json& input;         // the workflow's input
  const nlohmann::json& item;          // the for_each element, or null
  // Outputs of completed steps by step id.
  const std::map<std::string, nlohmann::json>& outputs;
  const nlohmann::json& patches;       // {signal: {key: value}} from patch signals
  const nlohmann::json& forward_output;  // for a compensation: the step's output
  const std::string& traceparent;
};

using ActivityDone = std::function<void(ActivityOutcome)>;

class Activity {
 public:
  virtual ~Activity() = default;
  // Must call `done` exactly once, on the engine's io_context thread.
  virtual void run(const ActivityRequest& request, ActivityDone done) = 0;
};

// Non-owning name -> activity map.
class ActivityRegistry {
 public:
  void add(const std::string& name, Activity* activity) { activities_[name] = activity; }
  Activity* find(const std::string& name) const {
    auto it = activities_.find(name);
    return it == activities_.end() ? nullptr : it->second;
  }

 private:
  std::unordered_map<std::string, Activity*> activities_;
};

}  // namespace orch::engine
