#include "observability/trace.h"

#include <chrono>
#include <random>

namespace orch::observability {

namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::size_t kTraceIdChars = 32;
constexpr std::size_t kSpanIdChars = 16;
// "00-" + 32 + "-" + 16 + "-" + 2
constexpr std::size_t kTraceparentChars = 55;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Lowercases `in` into `out`; false unless every character is a hex digit
// and at least one is not zero.
bool read_id(std::string_view in, std::string* out) {
  out->clear();
  bool non_zero = false;
  for (char c : in) {
    const int v = hex_value(c);
    if (v < 0) return false;
    non_zero |= v != 0;
    out->push_back(kHex[v]);
  }
  return non_zero;
}

std::string to_hex(std::uint64_t v) {
  std::string out(kSpanIdChars, '0');
  for (std::size_t i = kSpanIdChars; i-- > 0; v >>= 4) out[i] = kHex[v & 0xF];
  return out;
}

// splitmix64's finalizer: spreads FNV's weak low bits over the whole word.
std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

Span& Span::attr(std::string key, std::string value) {
  attributes.push_back({std::move(key), std::move(value)});
  return *this;
}

Span& Span::attr(std::string key, std::int64_t value) {
  attributes.push_back({std::move(key), value});
  return *this;
}

Span& Span::attr(std::string key, bool value) {
  attributes.push_back({std::move(key), value});
  return *this;
}

Span& Span::fail(std::string message) {
  status = SpanStatusCode::error;
  status_message = std::move(message);
  return *this;
}

std::optional<TraceContext> parse_traceparent(std::string_view text) {
  if (text.size() < kTraceparentChars || text[2] != '-' || text[35] != '-' || text[52] != '-')
    return std::nullopt;
  const int version = hex_value(text[0]) * 16 + hex_value(text[1]);
  if (hex_value(text[0]) < 0 || hex_value(text[1]) < 0 || version == 0xff) return std::nullopt;
  // Version 00 is exactly 55 characters; a later version may append fields.
  if (text.size() > kTraceparentChars && (version == 0 || text[kTraceparentChars] != '-'))
    return std::nullopt;
  const int flags_hi = hex_value(text[53]), flags_lo = hex_value(text[54]);
  if (flags_hi < 0 || flags_lo < 0) return std::nullopt;
  TraceContext ctx;
  if (!read_id(text.substr(3, kTraceIdChars), &ctx.trace_id)) return std::nullopt;
  if (!read_id(text.substr(36, kSpanIdChars), &ctx.parent_span_id)) return std::nullopt;
  ctx.sampled = (flags_lo & 1) != 0;
  return ctx;
}

std::string format_traceparent(std::string_view trace_id, std::string_view span_id) {
  std::string out;
  out.reserve(kTraceparentChars);
  out += "00-";
  out += trace_id;
  out += '-';
  out += span_id;
  out += "-01";
  return out;
}

namespace {

constexpr std::uint64_t kFnvOffset = 1469598103934665603ULL;  // FNV-1a 64

std::uint64_t fnv1a(std::uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string finish_span_id(std::uint64_t h) {
  const std::uint64_t id = mix(h);
  return to_hex(id ? id : 1);
}

}  // namespace

SpanIdSeed::SpanIdSeed(std::string_view trace_id,
                       std::initializer_list<std::string_view> key_prefix) {
  hash_ = fnv1a(fnv1a(kFnvOffset, trace_id), std::string_view("\0", 1));
  for (std::string_view piece : key_prefix) hash_ = fnv1a(hash_, piece);
}

std::string SpanIdSeed::derive(std::initializer_list<std::string_view> rest) const {
  std::uint64_t h = hash_;
  for (std::string_view piece : rest) h = fnv1a(h, piece);
  return finish_span_id(h);
}

std::string derive_span_id(std::string_view trace_id,
                           std::initializer_list<std::string_view> key_pieces) {
  return SpanIdSeed(trace_id, key_pieces).derive({});
}

std::string derive_span_id(std::string_view trace_id, std::string_view key) {
  return derive_span_id(trace_id, {key});
}

std::string random_span_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t id = 0;
  while (id == 0) id = rng();
  return to_hex(id);
}

std::int64_t unix_nanos_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace orch::observability
