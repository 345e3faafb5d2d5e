#include "engine/time_format.h"

#include "observability/log.h"

#include <cstdio>
#include <ctime>
#include <cctype>

namespace orch::engine {
std::string format_time(TimeMs ms) { return observability::format_timestamp_ms(ms); }

std::optional<TimeMs> parse_time(const std::string& s) {
  auto num = [&](std::size_t at, std::size_t n, int* out) {
    if (at + n > s.size()) return false;
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  std::tm tm{};
  int y, mo, d, h, mi, sec;
  if (!num(0, 4, &y) || s.size() < 20 || s[4] != '-' || !num(5, 2, &mo) || s[7] != '-' ||
      !num(8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !num(11, 2, &h) || s[13] != ':' ||
      !num(14, 2, &mi) || s[16] != ':' || !num(17, 2, &sec))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  std::size_t i = 19;
  TimeMs millis = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    TimeMs scale = 100;
    const std::size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      millis += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  TimeMs offset_ms = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) {
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh, om;
    if (!num(i + 1, 2, &oh) || !num(i + 4, 2, &om) || oh > 23 || om > 59) return std::nullopt;
    offset_ms = (oh * 60 + om) * 60'000LL * (s[i] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  const std::time_t secs = timegm(&tm);
  return static_cast<TimeMs>(secs) * 1000 + millis - offset_ms;
}

}  // namespace orch::engine
