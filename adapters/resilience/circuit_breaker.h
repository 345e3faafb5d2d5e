// A per-service circuit breaker with resilience4j semantics: a count-based
// sliding window of the last `window_size` call results (failure and slow flags
// per call), rates evaluated once `minimum_calls` are in the window, OPEN for a
// wait that may grow on consecutive trips, then HALF_OPEN with a fixed number
// of probe permits whose results decide between CLOSED and OPEN again.
//
// Usage per call:
//   if (!breaker.try_acquire()) -> fail fast (retry_after() says for how long)
//   ... call ...; breaker.on_result(outcome, duration)
//   or, if the permission is not used after all, breaker.release().
//
// Callers. A call may name its caller (a hash of the step's idempotency key;
// 0 = anonymous) so that the breaker measures the service, not one bad
// request: a caller's failure is counted in the window only if that caller
// has no failure there already (its retries of the same request do not push
// the rate up), and in half-open each caller gets at most one probe per
// round (one request the service keeps refusing cannot take every probe).
// So a few requests that fail on every attempt (their input is bad) never
// trip the breaker while the service answers everybody else.
//
// All time comes from the injected engine::Clock. Thread-safe (one mutex);
// the state-change listener is invoked without the mutex held, in transition
// order, so it may call back into the breaker.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "engine/time/clock.h"

namespace orch::resilience {

enum class BreakerState { closed, open, half_open, forced_open, disabled };

const char* to_string(BreakerState s);
// Gauge value for metrics: closed 0, open 1, half_open 2, forced_open 1, disabled 0.
int metric_value(BreakerState s);

struct BreakerConfig {
  int window_size = 100;                 // last N calls (values < 1 act as 1)
  double failure_rate_threshold = 0.5;   // trip when failures/calls >= this
  double slow_call_rate_threshold = 1.0; // trip when slow/calls >= this
  std::chrono::milliseconds slow_call_duration{5000};  // slow if duration >= this
  int minimum_calls = 10;                // no rate is computed below this (capped at window_size)
  std::chrono::milliseconds wait_in_open{30000};
  double open_wait_multiplier = 1.0;     // >1: exponential growth on consecutive trips
  std::chrono::milliseconds max_wait_in_open{300000};
  int permitted_calls_in_half_open = 5;  // probe permits (values < 1 act as 1)
};

enum class CallOutcome {
  success,
  failure,
  ignored,  // not counted (e.g. a 4xx caused by the request); frees a half-open slot
};

struct BreakerSnapshot {
  BreakerState state = BreakerState::closed;
  // The sliding window (closed/open/forced_open/disabled) or, in half_open,
  // the probe results recorded so far.
  int calls = 0;
  int failures = 0;
  int slow_calls = 0;
  // Rates in [0, 1]; -1 while fewer than minimum_calls are in the window
  // (in half_open: while no probe result has been recorded).
  double failure_rate = -1.0;
  double slow_rate = -1.0;
  std::uint64_t trips = 0;            // transitions into open (incl. half_open -> open)
  std::int64_t opened_at_ms = 0;      // last transition into open/forced_open; 0 = never
  std::int64_t next_attempt_at_ms = 0;  // open: when half_open becomes possible; else 0
  std::uint64_t failures_total = 0;   // every failure reported, in any state
};

class CircuitBreaker {
 public:
  using Listener = std::function<void(BreakerState from, BreakerState to)>;

  CircuitBreaker(std::string service, BreakerConfig config, const engine::Clock& clock);
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // closed/disabled: true. open: false until the wait has elapsed, then the
  // breaker turns half_open and this call takes a probe permit. half_open:
  // true while fewer than permitted_calls_in_half_open permits are out.
  // forced_open: false.
  bool try_acquire() { return acquire(kAnonymous).granted; }
  struct Permit {
    bool granted = false;
    bool probe = false;  // granted as a half-open probe
  };
  // try_acquire() on behalf of `caller`; in half-open a caller that already
  // holds or used a probe of this round is refused.
  Permit acquire(std::uint64_t caller);

  // Reports the result of a call made under a permission from try_acquire().
  // Results reported while open or forced_open only count in failures_total.
  void on_result(CallOutcome outcome, std::chrono::milliseconds duration,
                 std::uint64_t caller = kAnonymous);

  // Gives back a permission that was never used (frees a half-open slot and
  // the caller's probe of this round).
  void release(std::uint64_t caller = kAnonymous);

  static constexpr std::uint64_t kAnonymous = 0;

  // Time until the breaker may permit a call: 0 when it permits now; open:
  // the rest of the wait; half_open with every probe out: slow_call_duration
  // (a bounded guess: a probe outstanding that long counts as slow anyway);
  // forced_open: wait_in_open.
  std::chrono::milliseconds retry_after() const;

  // Operator override. forced_open: reject everything until forced otherwise.
  // disabled: permit everything, record nothing. closed: reset to a clean
  // closed window (and the base wait). open: trip now. half_open: probe now.
  void force(BreakerState state);

  BreakerState state() const;
  BreakerSnapshot snapshot() const;
  const std::string& service() const { return service_; }
  const BreakerConfig& config() const { return config_; }

  // Replaces the state-change listener (empty function = none).
  void set_listener(Listener listener);

 private:
  void record_window(bool failure, bool slow, std::uint64_t caller);  // REQUIRES: mu_ held
  bool failing_in_window(std::uint64_t caller) const;                 // REQUIRES: mu_ held
  void clear_window();                           // REQUIRES: mu_ held
  void transition(BreakerState to);              // REQUIRES: mu_ held
  void trip();                                   // REQUIRES: mu_ held
  void enter_half_open();                        // REQUIRES: mu_ held
  void evaluate_half_open();                     // REQUIRES: mu_ held
  void deliver(std::unique_lock<std::mutex>& lock);  // drains pending_ with mu_ released
  int effective_minimum() const;
  std::chrono::milliseconds wait_for_trip(std::uint32_t consecutive) const;

  const std::string service_;
  const BreakerConfig config_;
  const engine::Clock& clock_;

  mutable std::mutex mu_;
  BreakerState state_ = BreakerState::closed;
  // Ring of the last window_size results: bit 0 failure, bit 1 slow; and
  // the caller of each (kAnonymous when unnamed).
  std::vector<std::uint8_t> ring_;
  std::vector<std::uint64_t> ring_callers_;
  int head_ = 0;
  int count_ = 0;
  int failures_ = 0;
  int slow_ = 0;
  // Half-open probes.
  int probes_out_ = 0;        // permits granted and not yet answered/released
  int probe_results_ = 0;
  int probe_failures_ = 0;
  int probe_slow_ = 0;
  std::vector<std::uint64_t> probe_callers_;  // named callers given a probe this round
  // Open.
  std::uint32_t consecutive_trips_ = 0;  // reset when the breaker closes
  std::chrono::milliseconds current_wait_{0};
  std::int64_t opened_at_ms_ = 0;
  std::uint64_t trips_ = 0;
  std::uint64_t failures_total_ = 0;
  // Listener delivery (ordered, outside mu_).
  Listener listener_;
  std::vector<std::pair<BreakerState, BreakerState>> pending_;
  bool delivering_ = false;
};

}  // namespace orch::resilience
