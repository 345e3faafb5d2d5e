// A token bucket: `burst` tokens at most, refilled continuously at
// `rate_per_second`, starting full. Time comes from the injected clock (a
// clock stepping backwards adds no tokens). Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

#include "engine/time/clock.h"

namespace orch::resilience {

class TokenBucket {
 public:
  // rate_per_second <= 0 (or NaN) means unlimited. A burst below 1 acts as 1.
  TokenBucket(double rate_per_second, double burst, const engine::Clock& clock);
  TokenBucket(const TokenBucket&) = delete;
  TokenBucket& operator=(const TokenBucket&) = delete;

  // Takes `tokens` (default one) if available; otherwise takes nothing.
  bool try_take(double tokens = 1.0);
  // 0 when one token is available now, else the (rounded up) wait for one.
  std::chrono::milliseconds time_until_available() const;
  // Tokens available now (for metrics/tests); +inf when unlimited.
  double available() const;

  bool unlimited() const { return unlimited_; }
  double rate_per_second() const { return rate_; }
  double burst() const { return capacity_; }
  std::uint64_t rejected_total() const;

 private:
  double tokens_at(engine::TimeMs now) const;  // REQUIRES: mu_ held

  const double rate_;
  const double capacity_;
  const bool unlimited_;
  const engine::Clock& clock_;
  mutable std::mutex mu_;
  double tokens_;                 // GUARDED_BY(mu_) as of last_ms_
  engine::TimeMs last_ms_;        // GUARDED_BY(mu_)
  std::uint64_t rejected_ = 0;    // GUARDED_BY(mu_)
};

}  // namespace orch::resilience
