#pragma once

#include <string>

#include "engine/clock.h"

namespace orch::engine {
// RFC 3339 UTC with milliseconds, e.g. "2026-11-22T10:30:45.123Z".
std::string format_time(TimeMs ms);
}  // namespace orch::engine

#include <optional>
namespace orch::engine {
// Parses RFC 3339 ("2026-12-01T09:00:00Z", "...T09:00:00.250+02:00").
std::optional<TimeMs> parse_time(const std::string& text);
}  // namespace orch::engine
