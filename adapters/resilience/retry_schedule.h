// Temporal-style retry policy for calls to external services: exponential
// backoff with full jitter, a cap, a maximum number of attempts, and statuses
// and error kinds that are never retried; plus a Retry-After parser.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace orch::resilience {

struct RetryPolicy {
  std::chrono::milliseconds initial_interval{1000};
  double backoff_coefficient = 2.0;  // values below 1 (or NaN) act as 1
  std::chrono::milliseconds maximum_interval{60000};
  int maximum_attempts = 3;  // total attempts including the first; 0 = unlimited
  std::vector<int> non_retryable_statuses;
  std::vector<std::string> non_retryable_errors;
};

// Delay before the attempt after `attempt` (1-based: the attempt that just
// failed). Full jitter: floor(unit_random * cap) with
// cap = min(maximum_interval, initial_interval * backoff_coefficient^(attempt-1)),
// so the result lies in [0, cap] (unit_random is clamped to [0, 1]).
// When retry_after > 0 (a 429/503's Retry-After), the result is
// max(retry_after, that draw), capped at 4 * maximum_interval.
std::chrono::milliseconds next_delay(const RetryPolicy& policy, int attempt,
                                     double unit_random,
                                     std::chrono::milliseconds retry_after);

// The backoff cap for `attempt` (the upper bound of next_delay's draw).
std::chrono::milliseconds backoff_cap(const RetryPolicy& policy, int attempt);

// Whether a failed `attempt` (1-based) may be retried:
//  - not when maximum_attempts > 0 and attempt >= maximum_attempts;
//  - not when `status` is in non_retryable_statuses;
//  - not when `error_kind` (non-empty) is in non_retryable_errors;
//  - not for 4xx statuses other than 408, 425 and 429 (deterministic client errors);
//  - otherwise yes (5xx, 408/425/429, and status 0 = no response, e.g. a timeout).
bool retryable(const RetryPolicy& policy, int status, const std::string& error_kind,
               int attempt);

// Parses a Retry-After header value (RFC 9110 §10.2.3): delta-seconds
// ("120") or an HTTP-date in IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT"),
// and, as recipients must, the obsolete RFC 850 ("Wednesday, 21-Oct-15
// 07:28:00 GMT") and asctime ("Wed Oct 21 07:28:00 2015") forms. A date in
// the past yields 0. nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view header,
                                                           std::int64_t now_unix_ms);

// Unix milliseconds of an HTTP-date in any of the three forms above.
std::optional<std::int64_t> parse_http_date(std::string_view text);

}  // namespace orch::resilience
