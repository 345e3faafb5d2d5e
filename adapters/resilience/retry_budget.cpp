#include "adapters/resilience/retry_budget.h"

#include <algorithm>
#include <cmath>

namespace orch::resilience {

namespace {
constexpr double kEpsilon = 1e-9;  // 0.2 * 100 must allow exactly 20
}

RetryBudget::RetryBudget(double ratio, std::chrono::milliseconds window,
                         int min_retries_per_window, const engine::Clock& clock)
    : ratio_(ratio >= 0.0 ? ratio : 0.0),
      window_(std::max(window, std::chrono::milliseconds(1))),
      min_retries_(std::max(0, min_retries_per_window)),
      width_ms_(std::max<std::int64_t>(1, window_.count() / kBuckets)),
      clock_(clock) {}

RetryBudget::RetryBudget(const engine::Clock& clock, double ratio,
                         std::chrono::milliseconds window, int min_retries_per_window)
    : RetryBudget(ratio, window, min_retries_per_window, clock) {}

std::int64_t RetryBudget::index_of(engine::TimeMs t) const {
  // Floor division (times before the epoch stay ordered).
  std::int64_t q = t / width_ms_;
  if (t % width_ms_ != 0 && t < 0) --q;
  return q;
}

RetryBudget::Bucket& RetryBudget::current(std::int64_t now_index) {
  auto slot = static_cast<std::size_t>(((now_index % kBuckets) + kBuckets) % kBuckets);
  Bucket& b = buckets_[slot];
  if (b.index != now_index) b = Bucket{now_index, 0, 0};
  return b;
}

void RetryBudget::sums(std::int64_t now_index, std::int64_t& calls,
                       std::int64_t& retries) const {
  calls = retries = 0;
  for (const Bucket& b : buckets_) {
    // A bucket from the future (clock stepped back) still counts: conservative.
    if (b.index == Bucket::kNone || now_index - b.index >= kBuckets) continue;
    calls += b.calls;
    retries += b.retries;
  }
}

double RetryBudget::allowance(std::int64_t calls) const {
  return std::max(static_cast<double>(min_retries_), ratio_ * static_cast<double>(calls));
}

void RetryBudget::on_call() {
  std::lock_guard lock(mu_);
  ++current(index_of(clock_.now_ms())).calls;
  ++calls_total_;
}

bool RetryBudget::try_retry() {
  std::lock_guard lock(mu_);
  std::int64_t now_index = index_of(clock_.now_ms());
  std::int64_t calls = 0, retries = 0;
  sums(now_index, calls, retries);
  if (static_cast<double>(retries + 1) > allowance(calls) + kEpsilon) {
    ++denied_total_;
    return false;
  }
  ++current(now_index).retries;
  ++retries_total_;
  return true;
}

std::uint64_t RetryBudget::retries_denied_total() const {
  std::lock_guard lock(mu_);
  return denied_total_;
}

std::uint64_t RetryBudget::retries_allowed_total() const {
  std::lock_guard lock(mu_);
  return retries_total_;
}

RetryBudgetSnapshot RetryBudget::snapshot() const {
  std::lock_guard lock(mu_);
  RetryBudgetSnapshot s;
  sums(index_of(clock_.now_ms()), s.calls_in_window, s.retries_in_window);
  s.allowance = allowance(s.calls_in_window);
  s.calls_total = calls_total_;
  s.retries_total = retries_total_;
  s.retries_denied_total = denied_total_;
  return s;
}

}  // namespace orch::resilience
