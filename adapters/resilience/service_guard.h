// The resilience pipeline of one service, shared by every call to it:
// circuit breaker, bulkhead, optional token-bucket rate limit and a retry
// budget, with the figures operators see at GET /v1/adapters.
//
// Per-service settings (AdapterConfig services.<name>.settings, all optional):
//   breaker_window (100)  breaker_failure_rate (0.5)  breaker_slow_rate (1.0)
//   breaker_slow_ms (5000)  breaker_min_calls (10)  breaker_wait_ms (30000)
//   breaker_wait_multiplier (1.0)  breaker_max_wait_ms (300000)
//   breaker_half_open_calls (5)  max_concurrent (64)  rate_per_second (0 = off)
//   rate_burst (= rate)  retry_budget_ratio (0.2)  retry_budget_min (3)
//   breaker_failure_statuses ("500-599"): statuses and ranges the breaker
//     counts as failures, e.g. "500-599,429,408"
//   breaker_count_timeouts (true)  breaker_count_connection_errors (true)
// By default the breaker counts 5xx, timeouts and connection errors, not 4xx.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/services/adapter_config.h"
#include "adapters/resilience/bulkhead.h"
#include "adapters/resilience/circuit_breaker.h"
#include "adapters/resilience/outage_evidence.h"
#include "adapters/resilience/rate_limiter.h"
#include "adapters/resilience/retry_budget.h"
#include "engine/time/clock.h"

namespace orch::observability {
class Metrics;
}

namespace orch::adapters {

class ServiceGuard {
 public:
  ServiceGuard(std::string service, const ServiceEndpoint& endpoint, const engine::Clock& clock,
               observability::Metrics* metrics);

  // Whether a call may be sent now, on behalf of `caller` (a hash of the
  // step's idempotency key; 0 = anonymous, see CircuitBreaker). When
  // admitted, the caller holds a breaker permission and a bulkhead slot
  // until finish().
  struct Admission {
    bool admitted = false;
    bool probe = false;  // admitted as one of the breaker's half-open probes
    std::chrono::milliseconds retry_after{0};
    std::string reason;  // why not admitted
  };
  Admission admit(std::uint64_t caller = 0);

  // Classified result of an admitted call. `failure`: 5xx, timeout,
  // connection error (and 429 when configured); `ignored` never counts.
  // Returns, for a failure, whether it is part of a service-wide outage
  // rather than the caller's own: a failed half-open probe, a failure that
  // leaves the breaker open, or one that other callers share (see
  // resilience/outage_evidence.h). An outage's failure costs the step no
  // attempt: it waits for the service.
  bool finish(resilience::CallOutcome outcome, std::chrono::milliseconds duration,
              const std::string& error, std::uint64_t caller = 0, bool probe = false);
  // A retry is allowed only within the retry budget.
  void on_first_attempt() { budget_.on_call(); }
  bool allow_retry() { return budget_.try_retry(); }
  // Whether the breaker counts this answer (or transport error) as a failure.
  bool counts_status(int status) const;
  bool counts_timeouts() const { return count_timeouts_; }
  bool counts_connection_errors() const { return count_connection_errors_; }

  const std::string& service() const { return service_; }
  resilience::CircuitBreaker& breaker() { return breaker_; }
  nlohmann::json describe() const;

 private:
  const std::string service_;
  const engine::Clock& clock_;
  observability::Metrics* metrics_;
  resilience::CircuitBreaker breaker_;
  resilience::OutageEvidence evidence_;
  resilience::Bulkhead bulkhead_;
  resilience::TokenBucket rate_;
  resilience::RetryBudget budget_;
  std::vector<std::pair<int, int>> failure_statuses_;  // inclusive ranges
  bool count_timeouts_ = true;
  bool count_connection_errors_ = true;

  mutable std::mutex mu_;
  std::string last_error_;       // GUARDED_BY(mu_)
  std::int64_t last_error_ms_ = 0;  // GUARDED_BY(mu_)
  std::uint64_t rejected_ = 0;   // GUARDED_BY(mu_)
};

// Every service's guard, by service name.
class ServiceGuards {
 public:
  ServiceGuards(const AdapterConfig& config, const engine::Clock& clock,
                observability::Metrics* metrics);
  ServiceGuard* find(const std::string& service);
  nlohmann::json describe() const;  // [{service, breaker, ...}] by name

 private:
  std::map<std::string, std::unique_ptr<ServiceGuard>> guards_;
};

}  // namespace orch::adapters
