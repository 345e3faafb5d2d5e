#include "adapters/resilience/retry_schedule.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>

namespace orch::resilience {

namespace {

double clamp_ms(std::chrono::milliseconds d) {
  return static_cast<double>(std::max<std::int64_t>(0, d.count()));
}

std::chrono::milliseconds to_ms(double v) {
  if (!(v >= 0.0)) v = 0.0;
  v = std::min(v, 9.0e15);  // far beyond any sane delay; keeps the cast defined
  return std::chrono::milliseconds(static_cast<std::int64_t>(v));
}

double cap_ms(const RetryPolicy& policy, int attempt) {
  if (attempt < 1) attempt = 1;
  double max_ms = clamp_ms(policy.maximum_interval);
  double coefficient = policy.backoff_coefficient;
  if (!(coefficient >= 1.0)) coefficient = 1.0;
  double cap = clamp_ms(policy.initial_interval) *
               std::pow(coefficient, static_cast<double>(attempt - 1));
  if (!(cap <= max_ms)) cap = max_ms;  // overflow to inf/NaN lands here too
  return cap;
}

// --- HTTP-date ---------------------------------------------------------------

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30,
                                                     31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> kDays = {"Mon", "Tue", "Wed", "Thu",
                                                   "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDays = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};

// A tiny cursor over the header text.
struct Cursor {
  std::string_view s;
  std::size_t i = 0;

  bool done() const { return i >= s.size(); }
  bool lit(char c) {
    if (done() || s[i] != c) return false;
    ++i;
    return true;
  }
  bool spaces(std::size_t min = 1) {  // at least `min` spaces
    std::size_t n = 0;
    while (!done() && s[i] == ' ') ++i, ++n;
    return n >= min;
  }
  // Exactly `n` digits (n > 0), or 1..max digits when `n` == 0.
  bool digits(int n, std::int64_t& out, int max = 2) {
    int count = 0;
    out = 0;
    while (!done() && std::isdigit(static_cast<unsigned char>(s[i])) &&
           (n > 0 ? count < n : count < max)) {
      out = out * 10 + (s[i] - '0');
      ++i, ++count;
    }
    return n > 0 ? count == n : count > 0;
  }
  std::string_view word() {
    std::size_t start = i;
    while (!done() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    return s.substr(start, i - start);
  }
};

template <std::size_t N>
int index_in(const std::array<std::string_view, N>& names, std::string_view w) {
  for (std::size_t k = 0; k < N; ++k) {
    if (iequal(names[k], w)) return static_cast<int>(k);
  }
  return -1;
}

bool clock_time(Cursor& c, std::int64_t& h, std::int64_t& m, std::int64_t& s) {
  return c.digits(2, h) && c.lit(':') && c.digits(2, m) && c.lit(':') && c.digits(2, s);
}

std::optional<std::int64_t> assemble(std::int64_t y, std::int64_t mon, std::int64_t d,
                                     std::int64_t h, std::int64_t mi, std::int64_t s) {
  if (mon < 1 || mon > 12 || d < 1 || y < 1 || y > 9999) return std::nullopt;
  if (d > days_in_month(y, static_cast<unsigned>(mon))) return std::nullopt;
  if (h > 23 || mi > 59 || s > 60) return std::nullopt;  // 60: leap second
  std::int64_t days = days_from_civil(y, static_cast<unsigned>(mon), static_cast<unsigned>(d));
  return ((days * 24 + h) * 60 + mi) * 60'000 + s * 1000;
}

}  // namespace

std::chrono::milliseconds backoff_cap(const RetryPolicy& policy, int attempt) {
  return to_ms(std::floor(cap_ms(policy, attempt)));
}

std::chrono::milliseconds next_delay(const RetryPolicy& policy, int attempt,
                                     double unit_random,
                                     std::chrono::milliseconds retry_after) {
  if (!(unit_random >= 0.0)) unit_random = 0.0;  // also catches NaN
  if (unit_random > 1.0) unit_random = 1.0;
  double cap = cap_ms(policy, attempt);
  double value = std::min(std::floor(unit_random * cap), cap);
  if (retry_after.count() > 0) {
    double ceiling = clamp_ms(policy.maximum_interval) * 4.0;
    value = std::min(std::max(static_cast<double>(retry_after.count()), value), ceiling);
  }
  return to_ms(value);
}

bool retryable(const RetryPolicy& policy, int status, const std::string& error_kind,
               int attempt) {
  if (policy.maximum_attempts > 0 && attempt >= policy.maximum_attempts) return false;
  const auto& statuses = policy.non_retryable_statuses;
  if (std::find(statuses.begin(), statuses.end(), status) != statuses.end()) return false;
  const auto& errors = policy.non_retryable_errors;
  if (!error_kind.empty() && std::find(errors.begin(), errors.end(), error_kind) != errors.end()) {
    return false;
  }
  if (status >= 400 && status < 500 && status != 408 && status != 425 && status != 429) {
    return false;
  }
  return true;
}

std::optional<std::int64_t> parse_http_date(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  Cursor c{text};
  std::string_view day_name = c.word();
  std::int64_t y = 0, mon = 0, d = 0, h = 0, mi = 0, s = 0;
  if (c.lit(',')) {
    if (!c.spaces()) return std::nullopt;
    if (index_in(kDays, day_name) >= 0) {
      // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
      if (!c.digits(2, d) || !c.spaces()) return std::nullopt;
      mon = index_in(kMonths, c.word()) + 1;
      if (mon == 0 || !c.spaces() || !c.digits(4, y) || !c.spaces()) return std::nullopt;
    } else if (index_in(kLongDays, day_name) >= 0) {
      // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
      if (!c.digits(2, d) || !c.lit('-')) return std::nullopt;
      mon = index_in(kMonths, c.word()) + 1;
      if (mon == 0 || !c.lit('-') || !c.digits(2, y) || !c.spaces()) return std::nullopt;
      // Two-digit year: RFC 9110 says a date more than 50 years in the future
      // is the most recent past year with those digits; 1970..2069 fits that
      // for any realistic "now".
      y += y < 70 ? 2000 : 1900;
    } else {
      return std::nullopt;
    }
    if (!clock_time(c, h, mi, s) || !c.spaces()) return std::nullopt;
    if (!iequal(c.word(), "GMT") || !c.done()) return std::nullopt;
  } else {
    // asctime: "Sun Nov  6 08:49:37 1994"
    if (index_in(kDays, day_name) < 0 || !c.spaces()) return std::nullopt;
    mon = index_in(kMonths, c.word()) + 1;
    if (mon == 0 || !c.spaces() || !c.digits(0, d) || !c.spaces()) return std::nullopt;
    if (!clock_time(c, h, mi, s) || !c.spaces() || !c.digits(4, y) || !c.done()) {
      return std::nullopt;
    }
  }
  return assemble(y, mon, d, h, mi, s);
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view header,
                                                           std::int64_t now_unix_ms) {
  while (!header.empty() && (header.front() == ' ' || header.front() == '\t')) {
    header.remove_prefix(1);
  }
  while (!header.empty() && (header.back() == ' ' || header.back() == '\t')) {
    header.remove_suffix(1);
  }
  if (header.empty()) return std::nullopt;
  if (std::all_of(header.begin(), header.end(),
                  [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); })) {
    // delta-seconds; saturate instead of overflowing (a century is plenty).
    constexpr std::int64_t kMaxSeconds = 100LL * 365 * 24 * 3600;
    std::int64_t seconds = 0;
    for (char ch : header) {
      seconds = seconds * 10 + (ch - '0');
      if (seconds > kMaxSeconds) {
        seconds = kMaxSeconds;
        break;
      }
    }
    return std::chrono::milliseconds(seconds * 1000);
  }
  auto at = parse_http_date(header);
  if (!at) return std::nullopt;
  return std::chrono::milliseconds(std::max<std::int64_t>(0, *at - now_unix_ms));
}

}  // namespace orch::resilience
