// The conditions of an event trigger: a tree compiled once from JSON and
// evaluated against every customer event (CloudEvents-like:
// {"id", "source", "type", "subject", "time", "data": {...}}).
//
//   {"field": "data.amount", "op": ">", "value": 50}          a leaf
//   {"all": [<condition>, ...]}   {"any": [<condition>, ...]}  groups
//
// Spec (check_condition refuses anything else, naming each problem):
//   field   dot-separated segments of A-Z a-z 0-9 _ -, 1 to 16 of them, at
//           most 256 bytes, the first one of id, source, type, subject,
//           time, data. An all-digit segment without a leading zero ("0",
//           "12") indexes an array ("data.items.0.sku"); on an object every
//           segment is an ordinary key.
//   op      ==, != (value: a string, number, boolean or null);
//           <, <=, >, >= (a number or a string);
//           in (a non-empty array of at most 1,000 such scalars);
//           exists (an optional boolean, true when absent);
//           contains (a non-empty string).
//   value   strings at most 1,024 bytes. A leaf has no other keys.
//   groups  exactly one key, all or any, of 1 to 50 conditions; at most 8
//           groups nest.
//
// Semantics of matches():
//   - numbers compare numerically whatever their JSON form: 50 == 50.0,
//     integers and floats mix (integers compare exactly with integers;
//     with a float, both as doubles);
//   - strings compare bytewise (UTF-8 code point order) for <, <=, >, >=;
//   - a type mismatch (a number against a string, a boolean against a
//     number, an object or array field against a scalar...) is false for
//     EVERY op, != included: "!= 5" does not match "5" or true;
//   - null equals null only;
//   - a missing field (a key absent, an index past the end, a segment into
//     a string or number) is false for every op except exists false;
//     a field present with the value null exists;
//   - in: the field equals one of the values, equality as for ==;
//   - contains: the field is a string holding the value as a substring
//     (bytewise); an array field does not "contain" its elements;
//   - all: every child matches, any: one does; both stop at the first
//     child that decides. The default Condition (an all of nothing) matches
//     every event: a trigger without conditions.
// matches() allocates nothing and throws nothing: paths are split, indexes
// read and values classified when the condition is compiled.
#pragma once

#include <compare>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "phases/campaign/campaign_input.h"  // FieldError

namespace orch::phases::triggers {

inline constexpr std::size_t kMaxPathBytes = 256;
inline constexpr std::size_t kMaxPathSegments = 16;
inline constexpr std::size_t kMaxGroupDepth = 8;
inline constexpr std::size_t kMaxGroupChildren = 50;
inline constexpr std::size_t kMaxInValues = 1'000;
inline constexpr std::size_t kMaxValueBytes = 1'024;

enum class ConditionOp : std::uint8_t { eq, ne, lt, le, gt, ge, in, exists, contains };

// A condition's value in the form comparisons want.
struct Scalar {
  enum class Type : std::uint8_t { null, boolean, integer, unsigned_integer, floating, string };
  Type type = Type::null;
  bool boolean = false;
  std::int64_t integer = 0;
  std::uint64_t unsigned_integer = 0;
  double floating = 0;
  std::string string;
};

// A field path split at compile time. index[i] is the array index segment
// i names, or kNoIndex when it is not all digits (or too large to index).
struct FieldPath {
  static constexpr std::uint32_t kNoIndex = UINT32_MAX;
  std::string text;  // as written, e.g. "data.items.0.sku"
  std::vector<std::string> segments;
  std::vector<std::uint32_t> index;
};

struct Condition {
  enum class Kind : std::uint8_t { all, any, leaf };
  Kind kind = Kind::all;

  // A group's children (all, any).
  std::vector<Condition> children;

  // A leaf's.
  FieldPath field;
  ConditionOp op = ConditionOp::eq;
  Scalar value;                // ==, != and ordering ops; contains (a string)
  std::vector<Scalar> values;  // in
  bool exists = true;          // exists
};

// The spelling of `op` in JSON ("==", "in"...).
const char* op_name(ConditionOp op);

// Compiles `spec`. On any problem returns nullopt and appends every problem
// to *errors, fields named from `name`: "conditions.all[0].op".
std::optional<Condition> compile_condition(const nlohmann::json& spec,
                                           std::vector<FieldError>* errors,
                                           const std::string& name = "conditions");

// Every problem compile_condition would report; empty when `spec` is valid.
std::vector<FieldError> check_condition(const nlohmann::json& spec,
                                        const std::string& name = "conditions");

// Whether `event` satisfies `condition` (semantics above). Never throws.
bool matches(const Condition& condition, const nlohmann::json& event) noexcept;

// The canonical form: leaves with field, op and value (exists with its
// boolean spelled out), groups as {"all": [...]} / {"any": [...]}. It
// compiles back to the same condition. The default Condition gives
// {"all": []}, which compile_condition refuses (omit the conditions instead).
nlohmann::json to_json(const Condition& condition);

}  // namespace orch::phases::triggers
