#include "adapters/resilience/service_guard.h"

#include "engine/time/time_format.h"
#include "observability/metrics.h"

namespace orch::adapters {

namespace {
using std::chrono::milliseconds;

double number(const ServiceEndpoint& e, const char* name, double fallback) {
  const std::string v = e.setting(name);
  if (v.empty()) return fallback;
  try {
    return std::stod(v);
  } catch (const std::exception&) {
    return fallback;
  }
}

resilience::BreakerConfig breaker_config(const ServiceEndpoint& e) {
  resilience::BreakerConfig c;
  c.window_size = static_cast<int>(number(e, "breaker_window", c.window_size));
  c.failure_rate_threshold = number(e, "breaker_failure_rate", c.failure_rate_threshold);
  c.slow_call_rate_threshold = number(e, "breaker_slow_rate", c.slow_call_rate_threshold);
  c.slow_call_duration =
      milliseconds(static_cast<std::int64_t>(number(e, "breaker_slow_ms", 5000)));
  c.minimum_calls = static_cast<int>(number(e, "breaker_min_calls", c.minimum_calls));
  c.wait_in_open = milliseconds(static_cast<std::int64_t>(number(e, "breaker_wait_ms", 30000)));
  c.open_wait_multiplier = number(e, "breaker_wait_multiplier", c.open_wait_multiplier);
  c.max_wait_in_open =
      milliseconds(static_cast<std::int64_t>(number(e, "breaker_max_wait_ms", 300000)));
  c.permitted_calls_in_half_open =
      static_cast<int>(number(e, "breaker_half_open_calls", c.permitted_calls_in_half_open));
  return c;
}
// "500-599,429" -> {{500,599},{429,429}}; malformed items are skipped.
std::vector<std::pair<int, int>> parse_status_ranges(const std::string& text) {
  std::vector<std::pair<int, int>> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(start, comma - start);
    try {
      const std::size_t dash = item.find('-');
      const int lo = std::stoi(item.substr(0, dash));
      const int hi = dash == std::string::npos ? lo : std::stoi(item.substr(dash + 1));
      if (lo >= 100 && hi <= 599 && lo <= hi) out.emplace_back(lo, hi);
    } catch (const std::exception&) {
      // skip a malformed item
    }
    start = comma + 1;
  }
  return out;
}
}  // namespace

bool ServiceGuard::counts_status(int status) const {
  for (const auto& [lo, hi] : failure_statuses_)
    if (status >= lo && status <= hi) return true;
  return false;
}

ServiceGuard::ServiceGuard(std::string service, const ServiceEndpoint& endpoint,
                           const engine::Clock& clock, observability::Metrics* metrics)
    : service_(std::move(service)),
      clock_(clock),
      metrics_(metrics),
      breaker_(service_, breaker_config(endpoint), clock),
      evidence_({breaker_.config().failure_rate_threshold}, clock),
      bulkhead_(static_cast<int>(number(endpoint, "max_concurrent", 64))),
      rate_(number(endpoint, "rate_per_second", 0),
            number(endpoint, "rate_burst", number(endpoint, "rate_per_second", 0)), clock),
      budget_(number(endpoint, "retry_budget_ratio", 0.2), milliseconds(10'000),
              static_cast<int>(number(endpoint, "retry_budget_min", 3)), clock),
      failure_statuses_(parse_status_ranges(endpoint.setting("breaker_failure_statuses", "500-599"))),
      count_timeouts_(endpoint.setting("breaker_count_timeouts", "true") == "true"),
      count_connection_errors_(endpoint.setting("breaker_count_connection_errors", "true") ==
                               "true") {
  if (metrics_) {
    metrics_->declare_service(service_);
    metrics_->breaker_state(service_, resilience::metric_value(resilience::BreakerState::closed));
    breaker_.set_listener([metrics = metrics_, service = service_](resilience::BreakerState,
                                                                   resilience::BreakerState to) {
      metrics->breaker_state(service, resilience::metric_value(to));
    });
  }
}

ServiceGuard::Admission ServiceGuard::admit(std::uint64_t caller) {
  const resilience::CircuitBreaker::Permit permit = breaker_.acquire(caller);
  if (!permit.granted) {
    std::lock_guard lock(mu_);
    ++rejected_;
    // A half-open breaker that refuses this caller a second probe: "open"
    // would mislead, so the state is named as it is.
    return {false, false, breaker_.retry_after(),
            service_ + " circuit breaker is " + resilience::to_string(breaker_.snapshot().state)};
  }
  if (!rate_.try_take()) {
    breaker_.release(caller);
    std::lock_guard lock(mu_);
    ++rejected_;
    return {false, false, rate_.time_until_available(), service_ + " rate limit reached"};
  }
  if (!bulkhead_.try_enter()) {
    breaker_.release(caller);
    std::lock_guard lock(mu_);
    ++rejected_;
    return {false, false, milliseconds(100),
            service_ + " bulkhead full (" + std::to_string(bulkhead_.max()) + " in flight)"};
  }
  return {true, permit.probe, milliseconds(0), ""};
}

bool ServiceGuard::finish(resilience::CallOutcome outcome, milliseconds duration,
                          const std::string& error, std::uint64_t caller, bool probe) {
  using resilience::BreakerState;
  using resilience::CallOutcome;
  bulkhead_.leave();
  breaker_.on_result(outcome, duration, caller);
  bool outage = false;
  bool own = false;  // judged its own while the service answered others
  if (outcome == CallOutcome::failure) {
    const BreakerState state = breaker_.state();
    const resilience::FailureVerdict verdict =
        caller != 0 ? evidence_.judge(caller) : resilience::FailureVerdict::lone;
    outage = probe || state == BreakerState::open || state == BreakerState::forced_open ||
             verdict == resilience::FailureVerdict::outage;
    own = !outage && verdict == resilience::FailureVerdict::own;
    if (metrics_) metrics_->breaker_failure(service_);
    std::lock_guard lock(mu_);
    last_error_ = error;
    last_error_ms_ = clock_.now_ms();
  }
  if (outcome != CallOutcome::ignored && caller != 0)
    evidence_.record(caller, outcome == CallOutcome::failure, own);
  return outage;
}

nlohmann::json ServiceGuard::describe() const {
  const resilience::BreakerSnapshot b = breaker_.snapshot();
  nlohmann::json breaker = {{"state", resilience::to_string(b.state)},
                            {"window_calls", b.calls},
                            {"window_failures", b.failures},
                            {"window_slow_calls", b.slow_calls},
                            {"failure_rate", b.failure_rate},
                            {"slow_call_rate", b.slow_rate},
                            {"trips", b.trips},
                            {"failures_total", b.failures_total}};
  if (b.opened_at_ms) breaker["opened_at"] = engine::format_time(b.opened_at_ms);
  if (b.next_attempt_at_ms) breaker["next_attempt_at"] = engine::format_time(b.next_attempt_at_ms);
  std::lock_guard lock(mu_);
  nlohmann::json out = {{"service", service_},
                        {"breaker", std::move(breaker)},
                        {"in_flight", bulkhead_.in_flight()},
                        {"max_concurrent", bulkhead_.max()},
                        {"rejected_calls", rejected_}};
  if (!last_error_.empty()) {
    out["last_error"] = last_error_;
    out["last_error_at"] = engine::format_time(last_error_ms_);
  }
  return out;
}

ServiceGuards::ServiceGuards(const AdapterConfig& config, const engine::Clock& clock,
                             observability::Metrics* metrics) {
  for (const auto& [name, endpoint] : config.services)
    guards_.emplace(name, std::make_unique<ServiceGuard>(name, endpoint, clock, metrics));
}

ServiceGuard* ServiceGuards::find(const std::string& service) {
  auto it = guards_.find(service);
  return it == guards_.end() ? nullptr : it->second.get();
}

nlohmann::json ServiceGuards::describe() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, guard] : guards_) out.push_back(guard->describe());
  return out;
}

}  // namespace orch::adapters
