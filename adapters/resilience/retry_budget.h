// A retry budget (Finagle RetryBudget / Envoy retry_budget): retries may add at
// most `ratio` of the first-attempt traffic seen in a sliding window, with a
// floor of `min_retries_per_window` so that low-traffic services can still
// retry. Stops retry storms from multiplying load on a struggling service.
//
// The window is kept in 50 buckets (granularity window/50, at least 1 ms): an
// event stops counting between window - window/50 and window after it. Time
// comes from the injected clock. Thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <mutex>

#include "engine/time/clock.h"

namespace orch::resilience {

struct RetryBudgetSnapshot {
  std::int64_t calls_in_window = 0;
  std::int64_t retries_in_window = 0;
  double allowance = 0;  // max(min_retries_per_window, ratio * calls_in_window)
  std::uint64_t calls_total = 0;
  std::uint64_t retries_total = 0;         // retries allowed
  std::uint64_t retries_denied_total = 0;  // retries refused by the budget
};

class RetryBudget {
 public:
  RetryBudget(double ratio, std::chrono::milliseconds window, int min_retries_per_window,
              const engine::Clock& clock);
  // The defaults: ratio 0.2, a 10 s window, a floor of 3 retries per window.
  explicit RetryBudget(const engine::Clock& clock, double ratio = 0.2,
                       std::chrono::milliseconds window = std::chrono::milliseconds(10000),
                       int min_retries_per_window = 3);
  RetryBudget(const RetryBudget&) = delete;
  RetryBudget& operator=(const RetryBudget&) = delete;

  // Records a first attempt.
  void on_call();
  // Allows (and records) a retry when retries in the window stay within
  // max(min_retries_per_window, ratio * calls in window); otherwise counts a denial.
  bool try_retry();

  std::uint64_t retries_denied_total() const;
  std::uint64_t retries_allowed_total() const;
  RetryBudgetSnapshot snapshot() const;

  double ratio() const { return ratio_; }
  std::chrono::milliseconds window() const { return window_; }
  int min_retries_per_window() const { return min_retries_; }

 private:
  static constexpr int kBuckets = 50;
  struct Bucket {
    static constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::min();
    std::int64_t index = kNone;  // absolute bucket number (time / width)
    std::int64_t calls = 0;
    std::int64_t retries = 0;
  };
  Bucket& current(std::int64_t now_index);  // REQUIRES: mu_ held
  void sums(std::int64_t now_index, std::int64_t& calls, std::int64_t& retries) const;
  double allowance(std::int64_t calls) const;
  std::int64_t index_of(engine::TimeMs t) const;

  const double ratio_;
  const std::chrono::milliseconds window_;
  const int min_retries_;
  const std::int64_t width_ms_;
  const engine::Clock& clock_;

  mutable std::mutex mu_;
  std::array<Bucket, kBuckets> buckets_{};
  std::uint64_t calls_total_ = 0;
  std::uint64_t retries_total_ = 0;
  std::uint64_t denied_total_ = 0;
};

}  // namespace orch::resilience
