#pragma once

#include <string>

#include "engine/clock.h"

namespace orch::engine {
// RFC 3339 UTC with milliseconds, e.g. "2026-11-22T10:30:45.123Z".
std::string format_time(TimeMs ms);
}  // namespace orch::engine
