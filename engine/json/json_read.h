// JSON text read into nlohmann::json by simdjson, whole or in part.
//
// simdjson's DOM parser (Debian's libsimdjson, which picks its AVX-512,
// AVX2 or SSE4.2 kernel at run time) checks the whole text, then the parts
// the caller wants become nlohmann values, which the engine works on.
// nlohmann's own parser costs three times as much on the benchmark's texts
// (tests/bench/json_read_bench.cpp; numbers in json_read.cpp).
//
// It accepts and rejects what json::parse(text, nullptr, false) does and
// builds the same value, down to the kind of each number: the RFC 8259
// grammar, UTF-8 checked, \u escapes with surrogate pairs, a leading UTF-8
// byte order mark, the end of the text at a NUL byte after the value,
// integers as number_unsigned / number_integer when they fit, else
// number_float (a float out of double's range is rejected). One limit of
// its own, simdjson's: a value, scalar or not, inside kMaxJsonNesting
// arrays and objects is rejected (so 512 nested empty arrays pass, and 512
// around a number do not). Of two equal keys in one object the last is
// kept. json_read_test compares the two parsers over hand-written,
// generated and mutated texts.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace orch {

inline constexpr int kMaxJsonNesting = 512;

// json::parse(text, nullptr, false) into `out`. False, with `out`
// discarded, when the text is not one JSON value.
bool parse_json(std::string_view text, nlohmann::json& out);

// The same, keeping only what `paths` name (adapters/services/json_projection.h
// says how; each path is split on '/'); with no paths, everything. The
// whole text is still checked. At most 32 paths.
bool parse_json_projected(std::string_view text, const std::vector<std::vector<std::string>>& paths,
                          nlohmann::json& out);

}  // namespace orch
