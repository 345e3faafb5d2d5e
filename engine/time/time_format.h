// Time as users and records see it: RFC 3339 text.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/time/clock.h"

namespace orch::engine {

// RFC 3339 UTC with milliseconds, e.g. "2026-11-22T10:30:45.123Z".
std::string format_time(TimeMs ms);

// Parses an RFC 3339 date-time ("2026-12-01T09:00:00Z",
// "2026-12-01T09:00:00.250+02:00") into milliseconds since the epoch, or
// nullopt. The one parser behind every time a user gives (the validators
// call it too), so what is accepted is what the engine understands. Strict:
// the day must exist in its month (Feb 29 only in leap years); hours 00-23,
// minutes 00-59, seconds 00-60 (a leap second counts as the next second);
// 1 to 9 fraction digits (kept to the millisecond); an offset of Z or
// +HH:MM / -HH:MM with HH 00-23 (RFC 3339's time-numoffset), so "+24:00" and
// "-99:30" are refused, never ignored.
std::optional<TimeMs> parse_time(std::string_view text);

}  // namespace orch::engine
