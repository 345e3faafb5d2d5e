// JSON text of a value, the same bytes as nlohmann's dump(), written faster.
//
// nlohmann's serializer decodes every byte of every string as UTF-8 to decide
// what to escape, and writes the result one character at a time: about a
// tenth of the orchestrator's instructions under the benchmark, where step
// outputs, journal payloads and service request bodies carry long ASCII
// text. This writes strings that are plain printable ASCII with one append,
// escapes ASCII control characters as nlohmann does, and hands everything
// else to nlohmann: strings with a byte of 0x80 or above (so UTF-8 is
// validated and rejected exactly as dump() does, with the same exception),
// floating-point numbers (its shortest round-trip form) and binary values.
//
//   dump_json(v) == v.dump()   for every v, or both throw json::type_error
//
// json_text_test checks that over hand-written and generated documents.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace orch {

// Appends the compact JSON text of `value` to `out`.
void append_json(std::string& out, const nlohmann::json& value);

// The compact JSON text of `value`: what value.dump() returns.
std::string dump_json(const nlohmann::json& value);

// What append_json_string does with text that is not valid UTF-8: throw
// json::type_error as dump() does, or write U+FFFD for each bad sequence as
// dump(-1, ' ', false, error_handler_t::replace) does (for text from
// outside, such as a request's path in an error reply).
enum class InvalidUtf8 { throw_type_error, replace };

// Appends `text` as a JSON string, as append_json writes a string value.
// The one JSON string escaper of the tree.
void append_json_string(std::string& out, std::string_view text,
                        InvalidUtf8 invalid = InvalidUtf8::throw_type_error);

// Appends the decimal text of `value`.
void append_json_integer(std::string& out, std::int64_t value);

}  // namespace orch
