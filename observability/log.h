// Structured logs: one JSON object per line on stdout.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace orch::observability {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

// Parses "debug" | "info" | "warn" | "error" | "off"; false if unknown.
bool parse_log_level(const std::string& text, LogLevel* out);
void set_log_level(LogLevel level);

// RFC 3339 UTC with milliseconds for a Unix time in milliseconds.
std::string format_timestamp_ms(std::int64_t unix_ms);
LogLevel log_level();

// Whether a line at `level` would be written (check before building fields).
bool log_enabled(LogLevel level);

// Test hook: lines go to `sink` instead of stdout (nullptr restores stdout).
void set_log_sink(std::function<void(const std::string& line)> sink);

// Thread-safe. `fields` are merged into the line (timestamp, level, message
// come first). Callers never pass secrets.
void log(LogLevel level, const std::string& message,
         const nlohmann::json& fields = nlohmann::json::object());

}  // namespace orch::observability
