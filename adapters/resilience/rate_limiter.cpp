#include "adapters/resilience/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace orch::resilience {

namespace {
// Absorbs rounding so that e.g. 10/s for 100 ms yields a whole token.
constexpr double kEpsilon = 1e-9;
}  // namespace

TokenBucket::TokenBucket(double rate_per_second, double burst, const engine::Clock& clock)
    : rate_(rate_per_second > 0.0 ? rate_per_second : 0.0),
      capacity_(burst >= 1.0 ? burst : 1.0),
      unlimited_(!(rate_per_second > 0.0) || std::isinf(rate_per_second)),
      clock_(clock),
      tokens_(capacity_),
      last_ms_(clock.now_ms()) {}

double TokenBucket::tokens_at(engine::TimeMs now) const {
  if (now <= last_ms_) return tokens_;
  double refill = static_cast<double>(now - last_ms_) * rate_ / 1000.0;
  return std::min(capacity_, tokens_ + refill);
}

bool TokenBucket::try_take(double tokens) {
  if (unlimited_) return true;
  std::lock_guard lock(mu_);
  engine::TimeMs now = clock_.now_ms();
  double available = tokens_at(now);
  if (now > last_ms_) last_ms_ = now;
  tokens_ = available;
  if (available + kEpsilon < tokens) {
    ++rejected_;
    return false;
  }
  tokens_ = std::max(0.0, available - tokens);
  return true;
}

std::chrono::milliseconds TokenBucket::time_until_available() const {
  if (unlimited_) return std::chrono::milliseconds(0);
  std::lock_guard lock(mu_);
  double available = tokens_at(clock_.now_ms());
  if (available + kEpsilon >= 1.0) return std::chrono::milliseconds(0);
  double wait_ms = std::ceil((1.0 - available) * 1000.0 / rate_ - kEpsilon);
  wait_ms = std::clamp(wait_ms, 1.0, 1e15);  // a tiny rate must not overflow
  return std::chrono::milliseconds(static_cast<std::int64_t>(wait_ms));
}

double TokenBucket::available() const {
  if (unlimited_) return std::numeric_limits<double>::infinity();
  std::lock_guard lock(mu_);
  return tokens_at(clock_.now_ms());
}

std::uint64_t TokenBucket::rejected_total() const {
  std::lock_guard lock(mu_);
  return rejected_;
}

}  // namespace orch::resilience
