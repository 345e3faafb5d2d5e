// Traces: the part of the OpenTelemetry span model the orchestrator uses,
// W3C trace context (`traceparent`), and the sink finished spans go to.
//
// Span ids are either random (an outbound HTTP call) or derived: a hash of
// the trace id and a name for what the span is about, so code that restarts
// can name the same span again without storing its id (see
// engine/workflow/workflow_tracer.h).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace orch::observability {

// Values are OTLP's enum numbers.
enum class SpanKind { internal = 1, server = 2, client = 3 };
enum class SpanStatusCode { unset = 0, ok = 1, error = 2 };

struct SpanAttribute {
  std::string key;
  std::variant<std::string, std::int64_t, double, bool> value;
};

struct Span {
  std::string trace_id;        // 32 lowercase hex digits
  std::string span_id;         // 16 lowercase hex digits
  std::string parent_span_id;  // "" for a root span
  std::string name;
  SpanKind kind = SpanKind::internal;
  std::int64_t start_unix_ns = 0;
  std::int64_t end_unix_ns = 0;
  std::vector<SpanAttribute> attributes;
  SpanStatusCode status = SpanStatusCode::unset;
  std::string status_message;  // only with status error; never a secret

  Span& attr(std::string key, std::string value);
  Span& attr(std::string key, const char* value) {
    return attr(std::move(key), std::string(value));
  }
  Span& attr(std::string key, std::int64_t value);
  Span& attr(std::string key, int value) { return attr(std::move(key), std::int64_t{value}); }
  Span& attr(std::string key, bool value);
  Span& fail(std::string message);  // status error with `message`
};

// Where finished spans go.
// REQUIRES: implementations are thread-safe and never wait for I/O in record().
class SpanSink {
 public:
  virtual ~SpanSink() = default;
  virtual void record(Span span) = 0;
};

// A parsed W3C traceparent: "00-<trace-id>-<parent-id>-<flags>".
struct TraceContext {
  std::string trace_id;        // 32 lowercase hex
  std::string parent_span_id;  // 16 lowercase hex
  bool sampled = false;
};

// nullopt when malformed, version ff, or an id is all zeros. Later versions
// are read by their version-00 prefix, as the W3C recommendation asks.
std::optional<TraceContext> parse_traceparent(std::string_view text);
// "00-<trace_id>-<span_id>-01".
std::string format_traceparent(std::string_view trace_id, std::string_view span_id);

// The same (trace_id, key) always gives the same 16-hex-digit id, never all
// zeros; different keys give different ids with overwhelming probability.
std::string derive_span_id(std::string_view trace_id, std::string_view key);
// The same id as derive_span_id(trace_id, the pieces joined), without
// building the joined key (span ids are derived for every step).
std::string derive_span_id(std::string_view trace_id,
                           std::initializer_list<std::string_view> key_pieces);
// derive_span_id in two steps: the hash of the trace id and a key's first
// pieces, kept, then the ids of keys that start with those pieces. A
// workflow's spans all start with (its trace id, its id, "/"), so the
// workflow keeps one and derives each step's span from the rest.
class SpanIdSeed {
 public:
  SpanIdSeed() = default;
  SpanIdSeed(std::string_view trace_id, std::initializer_list<std::string_view> key_prefix);
  // derive_span_id(trace_id, key_prefix then rest, joined).
  std::string derive(std::initializer_list<std::string_view> rest) const;

 private:
  std::uint64_t hash_ = 0;
};

// A fresh random span id. Thread-safe.
std::string random_span_id();

// Wall-clock time in nanoseconds since the Unix epoch.
std::int64_t unix_nanos_now();

}  // namespace orch::observability
