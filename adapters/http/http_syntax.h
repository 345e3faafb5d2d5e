// The small pieces of HTTP/1.1 syntax that the client, the server and the
// message helpers all check (RFC 9110 5.1 and 5.6.2): token characters for
// methods and field names, bytes a field value may not hold, ASCII
// case-insensitive comparison of field names, and the Host field's value.
//
// One 256-entry table instead of a chain of range tests and a switch per
// character: the client checks every outbound request's method and field
// names, 15 requests per campaign under the benchmark.
#pragma once

#include <array>
#include <string_view>

#include "engine/json/byte_scan.h"

namespace orch::http::syntax {

namespace detail {
constexpr std::array<bool, 256> token_table() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (unsigned char c : std::string_view("!#$%&'*+-.^_`|~")) t[c] = true;
  return t;
}
inline constexpr std::array<bool, 256> kTokenChars = token_table();
}  // namespace detail

inline bool is_token_char(char c) { return detail::kTokenChars[static_cast<unsigned char>(c)]; }

// A method or a field name: one or more token characters.
inline bool valid_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_token_char(c)) return false;
  return true;
}

// A field value must not hold CR, LF or NUL (they would split the message).
// With SSE2, 16 bytes per step (engine/json/byte_scan.h): an outbound request
// carries a few hundred bytes of values (tokens, idempotency keys,
// traceparent).
inline bool valid_field_value(std::string_view s) {
#if defined(__SSE2__)
  auto breaks = [](const char* at) {
    const __m128i v = byte_scan::load16(at);
    const __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')),
                                     _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
                                                  _mm_cmpeq_epi8(v, _mm_setzero_si128())));
    return static_cast<unsigned>(_mm_movemask_epi8(hit));
  };
  return byte_scan::first_flagged(s.data(), s.size(), breaks) == s.size();
#else
  for (char c : s)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
#endif
}

// ASCII case folding: what std::tolower does in the "C" locale, which the
// program never leaves, without a library call per character.
inline char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

// A Host field value (RFC 9112 3.2): uri-host [ ":" port ] of RFC 3986
// 3.2.2, an IP literal in brackets or a registered name / IPv4 address, and
// a port of digits. Empty is valid (a target without an authority).
inline bool valid_host(std::string_view v) {
  auto all_of = [](std::string_view s, auto pred) {
    for (char c : s)
      if (!pred(static_cast<unsigned char>(c))) return false;
    return true;
  };
  auto alnum = [](unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  // unreserved / pct-encoded / sub-delims (the percent sign's digits are
  // alphanumeric too; a stray '%' is let through, which splits nothing)
  auto reg_name_char = [&](unsigned char c) {
    return alnum(c) || std::string_view("-._~%!$&'()*+,;=").find(static_cast<char>(c)) !=
                           std::string_view::npos;
  };
  std::string_view port;
  if (!v.empty() && v.front() == '[') {
    const std::size_t close = v.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    // IPv6address / IPvFuture: hex digits, ':' and '.', or "v" and
    // unreserved / sub-delims / ':'.
    auto literal_char = [&](unsigned char c) { return reg_name_char(c) || c == ':'; };
    if (!all_of(v.substr(1, close - 1), literal_char)) return false;
    std::string_view rest = v.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
    }
  } else {
    const std::size_t colon = v.find(':');
    if (colon != std::string_view::npos) port = v.substr(colon + 1);
    if (!all_of(v.substr(0, colon), reg_name_char)) return false;
  }
  return all_of(port, [](unsigned char c) { return c >= '0' && c <= '9'; });
}

}  // namespace orch::http::syntax
