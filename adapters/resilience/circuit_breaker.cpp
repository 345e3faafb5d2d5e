#include "adapters/resilience/circuit_breaker.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace orch::resilience {

namespace {
constexpr std::uint8_t kFailureBit = 1;
constexpr std::uint8_t kSlowBit = 2;

double rate(int part, int whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : -1.0;
}
}  // namespace

const char* to_string(BreakerState s) {
  switch (s) {
    case BreakerState::closed: return "closed";
    case BreakerState::open: return "open";
    case BreakerState::half_open: return "half_open";
    case BreakerState::forced_open: return "forced_open";
    case BreakerState::disabled: return "disabled";
  }
  return "unknown";
}

int metric_value(BreakerState s) {
  switch (s) {
    case BreakerState::closed: return 0;
    case BreakerState::open: return 1;
    case BreakerState::half_open: return 2;
    case BreakerState::forced_open: return 1;
    case BreakerState::disabled: return 0;
  }
  return 0;
}

CircuitBreaker::CircuitBreaker(std::string service, BreakerConfig config,
                               const engine::Clock& clock)
    : service_(std::move(service)), config_(std::move(config)), clock_(clock) {
  ring_.assign(static_cast<std::size_t>(std::max(1, config_.window_size)), 0);
  ring_callers_.assign(ring_.size(), kAnonymous);
  current_wait_ = wait_for_trip(1);
}

int CircuitBreaker::effective_minimum() const {
  int window = static_cast<int>(ring_.size());
  return std::clamp(config_.minimum_calls, 1, window);
}

std::chrono::milliseconds CircuitBreaker::wait_for_trip(std::uint32_t consecutive) const {
  double base = static_cast<double>(std::max<std::int64_t>(0, config_.wait_in_open.count()));
  double cap = static_cast<double>(std::max<std::int64_t>(0, config_.max_wait_in_open.count()));
  double multiplier = config_.open_wait_multiplier;
  if (!(multiplier >= 1.0)) multiplier = 1.0;  // also catches NaN
  double wait = base;
  for (std::uint32_t i = 1; i < consecutive && wait < cap; ++i) wait *= multiplier;
  if (!(wait <= cap)) wait = cap;  // inf/NaN land here too
  return std::chrono::milliseconds(static_cast<std::int64_t>(wait));
}

bool CircuitBreaker::failing_in_window(std::uint64_t caller) const {
  if (caller == kAnonymous) return false;
  for (int i = 0; i < count_; ++i) {
    // The newest count_ entries end just before head_.
    const int at = (head_ - 1 - i + static_cast<int>(ring_.size())) % static_cast<int>(ring_.size());
    if (ring_callers_[static_cast<std::size_t>(at)] == caller &&
        (ring_[static_cast<std::size_t>(at)] & kFailureBit))
      return true;
  }
  return false;
}

void CircuitBreaker::record_window(bool failure, bool slow, std::uint64_t caller) {
  const int size = static_cast<int>(ring_.size());
  if (count_ == size) {  // evict the oldest result
    std::uint8_t old = ring_[static_cast<std::size_t>(head_)];
    if (old & kFailureBit) --failures_;
    if (old & kSlowBit) --slow_;
  } else {
    ++count_;
  }
  std::uint8_t bits = static_cast<std::uint8_t>((failure ? kFailureBit : 0) | (slow ? kSlowBit : 0));
  ring_[static_cast<std::size_t>(head_)] = bits;
  ring_callers_[static_cast<std::size_t>(head_)] = caller;
  head_ = (head_ + 1) % size;
  if (failure) ++failures_;
  if (slow) ++slow_;
}

void CircuitBreaker::clear_window() {
  std::fill(ring_.begin(), ring_.end(), 0);
  std::fill(ring_callers_.begin(), ring_callers_.end(), kAnonymous);
  head_ = count_ = failures_ = slow_ = 0;
}

void CircuitBreaker::transition(BreakerState to) {
  probes_out_ = probe_results_ = probe_failures_ = probe_slow_ = 0;
  probe_callers_.clear();
  if (state_ == to) return;
  pending_.emplace_back(state_, to);
  state_ = to;
}

void CircuitBreaker::trip() {
  ++consecutive_trips_;
  ++trips_;
  current_wait_ = wait_for_trip(consecutive_trips_);
  opened_at_ms_ = clock_.now_ms();
  transition(BreakerState::open);
}

void CircuitBreaker::enter_half_open() { transition(BreakerState::half_open); }

void CircuitBreaker::evaluate_half_open() {
  const int permitted = std::max(1, config_.permitted_calls_in_half_open);
  if (probe_results_ >= permitted) {
    if (rate(probe_failures_, probe_results_) >= config_.failure_rate_threshold ||
        rate(probe_slow_, probe_results_) >= config_.slow_call_rate_threshold) {
      trip();
    } else {
      consecutive_trips_ = 0;
      current_wait_ = wait_for_trip(1);
      clear_window();
      transition(BreakerState::closed);
    }
    return;
  }
  // Decided early: even if every outstanding probe succeeds quickly, the
  // final rate over `permitted` results would reach a threshold.
  if (rate(probe_failures_, permitted) >= config_.failure_rate_threshold ||
      rate(probe_slow_, permitted) >= config_.slow_call_rate_threshold) {
    trip();
  }
}

void CircuitBreaker::deliver(std::unique_lock<std::mutex>& lock) {
  if (delivering_ || pending_.empty()) return;
  delivering_ = true;
  while (!pending_.empty()) {
    auto batch = std::move(pending_);
    pending_.clear();
    Listener listener = listener_;
    lock.unlock();
    if (listener) {
      for (auto& [from, to] : batch) {
        try {
          listener(from, to);
        } catch (...) {
          // A listener's failure must not corrupt the breaker.
        }
      }
    }
    lock.lock();
  }
  delivering_ = false;
}

CircuitBreaker::Permit CircuitBreaker::acquire(std::uint64_t caller) {
  std::unique_lock lock(mu_);
  Permit permit;
  switch (state_) {
    case BreakerState::closed:
    case BreakerState::disabled:
      permit.granted = true;
      break;
    case BreakerState::forced_open:
      break;
    case BreakerState::open:
      if (clock_.now_ms() - opened_at_ms_ < current_wait_.count()) break;
      enter_half_open();
      [[fallthrough]];
    case BreakerState::half_open:
      if (probes_out_ + probe_results_ < std::max(1, config_.permitted_calls_in_half_open) &&
          (caller == kAnonymous ||
           std::find(probe_callers_.begin(), probe_callers_.end(), caller) ==
               probe_callers_.end())) {
        ++probes_out_;
        if (caller != kAnonymous) probe_callers_.push_back(caller);
        permit = {true, true};
      }
      break;
  }
  deliver(lock);
  return permit;
}

void CircuitBreaker::on_result(CallOutcome outcome, std::chrono::milliseconds duration,
                               std::uint64_t caller) {
  std::unique_lock lock(mu_);
  const bool failure = outcome == CallOutcome::failure;
  if (failure) ++failures_total_;
  const bool slow = duration >= config_.slow_call_duration;
  switch (state_) {
    case BreakerState::closed:
      if (outcome == CallOutcome::ignored) break;
      if (failure && failing_in_window(caller)) break;  // the same request failing again
      record_window(failure, slow, caller);
      if (count_ >= effective_minimum() &&
          (rate(failures_, count_) >= config_.failure_rate_threshold ||
           rate(slow_, count_) >= config_.slow_call_rate_threshold)) {
        trip();
      }
      break;
    case BreakerState::half_open:
      if (probes_out_ > 0) --probes_out_;
      if (outcome == CallOutcome::ignored) break;  // the slot is free again
      ++probe_results_;
      if (failure) ++probe_failures_;
      if (slow) ++probe_slow_;
      evaluate_half_open();
      break;
    case BreakerState::open:
    case BreakerState::forced_open:
    case BreakerState::disabled:
      break;
  }
  deliver(lock);
}

void CircuitBreaker::release(std::uint64_t caller) {
  std::lock_guard lock(mu_);
  if (state_ != BreakerState::half_open || probes_out_ == 0) return;
  --probes_out_;
  if (auto it = std::find(probe_callers_.begin(), probe_callers_.end(), caller);
      caller != kAnonymous && it != probe_callers_.end())
    probe_callers_.erase(it);
}

std::chrono::milliseconds CircuitBreaker::retry_after() const {
  std::lock_guard lock(mu_);
  using std::chrono::milliseconds;
  switch (state_) {
    case BreakerState::closed:
    case BreakerState::disabled:
      return milliseconds(0);
    case BreakerState::forced_open:
      return config_.wait_in_open;
    case BreakerState::open: {
      std::int64_t left = opened_at_ms_ + current_wait_.count() - clock_.now_ms();
      return milliseconds(std::max<std::int64_t>(0, left));
    }
    case BreakerState::half_open:
      if (probes_out_ + probe_results_ < std::max(1, config_.permitted_calls_in_half_open)) {
        return milliseconds(0);
      }
      return std::max(milliseconds(1), config_.slow_call_duration);
  }
  return milliseconds(0);
}

void CircuitBreaker::force(BreakerState to) {
  std::unique_lock lock(mu_);
  switch (to) {
    case BreakerState::closed:
      consecutive_trips_ = 0;
      current_wait_ = wait_for_trip(1);
      clear_window();
      transition(BreakerState::closed);
      break;
    case BreakerState::open:
      trip();
      break;
    case BreakerState::half_open:
      enter_half_open();
      break;
    case BreakerState::forced_open:
      opened_at_ms_ = clock_.now_ms();
      transition(BreakerState::forced_open);
      break;
    case BreakerState::disabled:
      transition(BreakerState::disabled);
      break;
  }
  deliver(lock);
}

BreakerState CircuitBreaker::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

BreakerSnapshot CircuitBreaker::snapshot() const {
  std::lock_guard lock(mu_);
  BreakerSnapshot s;
  s.state = state_;
  if (state_ == BreakerState::half_open) {
    s.calls = probe_results_;
    s.failures = probe_failures_;
    s.slow_calls = probe_slow_;
    s.failure_rate = rate(probe_failures_, probe_results_);
    s.slow_rate = rate(probe_slow_, probe_results_);
  } else {
    s.calls = count_;
    s.failures = failures_;
    s.slow_calls = slow_;
    if (count_ >= effective_minimum()) {
      s.failure_rate = rate(failures_, count_);
      s.slow_rate = rate(slow_, count_);
    }
  }
  s.trips = trips_;
  s.opened_at_ms = opened_at_ms_;
  s.next_attempt_at_ms =
      state_ == BreakerState::open ? opened_at_ms_ + current_wait_.count() : 0;
  s.failures_total = failures_total_;
  return s;
}

void CircuitBreaker::set_listener(Listener listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

}  // namespace orch::resilience
