#include "phases/triggers/trigger_conditions.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>

namespace orch::phases::triggers {

using nlohmann::json;

namespace {

constexpr std::array<std::string_view, 6> kEnvelope = {"id",      "source", "type",
                                                       "subject", "time",   "data"};
constexpr std::size_t kMaxIndexDigits = 9;   // below UINT32_MAX, beyond any event's array
constexpr std::size_t kMaxValueErrors = 10;  // errors listed for one "in" list at most
constexpr std::string_view kOpList = "==, !=, <, <=, >, >=, in, exists, contains";
constexpr std::string_view kScalarKinds = "a string, number, boolean or null";
constexpr std::size_t kMaxEchoBytes = 32;  // of an unknown operator, in its error

struct OpSpelling {
  std::string_view text;
  ConditionOp op;
};
constexpr std::array<OpSpelling, 9> kOps = {{{"==", ConditionOp::eq},
                                             {"!=", ConditionOp::ne},
                                             {"<", ConditionOp::lt},
                                             {"<=", ConditionOp::le},
                                             {">", ConditionOp::gt},
                                             {">=", ConditionOp::ge},
                                             {"in", ConditionOp::in},
                                             {"exists", ConditionOp::exists},
                                             {"contains", ConditionOp::contains}}};

bool ordering_op(ConditionOp op) {
  return op == ConditionOp::lt || op == ConditionOp::le || op == ConditionOp::gt ||
         op == ConditionOp::ge;
}

bool segment_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// The array index an all-digit segment names, or kNoIndex.
std::uint32_t index_of(std::string_view segment) {
  const bool digits =
      std::all_of(segment.begin(), segment.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || segment.size() > kMaxIndexDigits || (segment.size() > 1 && segment[0] == '0'))
    return FieldPath::kNoIndex;
  std::uint32_t index = 0;
  for (char c : segment) index = index * 10 + static_cast<std::uint32_t>(c - '0');
  return index;
}

// Splits `text` into *path; returns why it is not a field path, "" if it is.
std::string split_path(const std::string& text, FieldPath* path) {
  if (text.empty()) return "empty";
  if (text.size() > kMaxPathBytes) return "longer than 256 bytes";
  path->text = text;
  for (std::size_t start = 0;;) {
    const std::size_t dot = text.find('.', start);
    const std::string_view segment = std::string_view(text).substr(start, dot - start);
    if (segment.empty()) return "an empty segment";
    if (!std::all_of(segment.begin(), segment.end(), segment_char))
      return "a segment holds only A-Z a-z 0-9 _ -";
    if (path->segments.size() == kMaxPathSegments) return "more than 16 segments";
    path->segments.emplace_back(segment);
    path->index.push_back(index_of(segment));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (std::find(kEnvelope.begin(), kEnvelope.end(), path->segments[0]) == kEnvelope.end())
    return "the first segment is one of id, source, type, subject, time, data";
  return "";
}

// Reads a scalar value into *out; returns what is wrong with it, "" if nothing.
std::string read_scalar(const json& v, Scalar* out) {
  switch (v.type()) {
    case json::value_t::null:
      out->type = Scalar::Type::null;
      return "";
    case json::value_t::boolean:
      out->type = Scalar::Type::boolean;
      out->boolean = v.get<bool>();
      return "";
    case json::value_t::number_integer:
      out->type = Scalar::Type::integer;
      out->integer = v.get<std::int64_t>();
      return "";
    case json::value_t::number_unsigned:
      out->type = Scalar::Type::unsigned_integer;
      out->unsigned_integer = v.get<std::uint64_t>();
      return "";
    case json::value_t::number_float:
      if (!std::isfinite(v.get<double>())) return "must be a finite number";
      out->type = Scalar::Type::floating;
      out->floating = v.get<double>();
      return "";
    case json::value_t::string:
      if (v.get_ref<const std::string&>().size() > kMaxValueBytes)
        return "is longer than 1,024 bytes";
      out->type = Scalar::Type::string;
      out->string = v.get<std::string>();
      return "";
    default:
      return "must be " + std::string(kScalarKinds);
  }
}

json scalar_json(const Scalar& s) {
  switch (s.type) {
    case Scalar::Type::null:
      return nullptr;
    case Scalar::Type::boolean:
      return s.boolean;
    case Scalar::Type::integer:
      return s.integer;
    case Scalar::Type::unsigned_integer:
      return s.unsigned_integer;
    case Scalar::Type::floating:
      return s.floating;
    case Scalar::Type::string:
      return s.string;
  }
  return nullptr;
}

// Compiles one condition after another, appending every problem found.
class Compiler {
 public:
  explicit Compiler(std::vector<FieldError>* errors) : errors_(errors) {}

  // `depth`: the groups around `spec`.
  void condition(const json& spec, const std::string& name, std::size_t depth, Condition* out) {
    if (!spec.is_object())
      return add(name, R"(must be a condition: {"field", "op", "value"}, {"all": [...]} or )"
                       R"({"any": [...]})");
    if (spec.contains("all") || spec.contains("any")) return group(spec, name, depth, out);
    leaf(spec, name, out);
  }

 private:
  void add(std::string field, std::string message) {
    errors_->push_back({std::move(field), std::move(message)});
  }

  void group(const json& spec, const std::string& name, std::size_t depth, Condition* out) {
    if (spec.size() != 1) return add(name, "a group has exactly one key, all or any");
    if (depth == kMaxGroupDepth) return add(name, "groups nest more than 8 deep");
    const bool all = spec.contains("all");
    out->kind = all ? Condition::Kind::all : Condition::Kind::any;
    const std::string list_name = name + (all ? ".all" : ".any");
    const json& list = spec.front();
    if (!list.is_array() || list.empty() || list.size() > kMaxGroupChildren)
      return add(list_name, "must be an array of 1 to 50 conditions");
    out->children.resize(list.size());
    for (std::size_t i = 0; i < list.size(); ++i)
      condition(list[i], list_name + "[" + std::to_string(i) + "]", depth + 1, &out->children[i]);
  }

  void leaf(const json& spec, const std::string& name, Condition* out) {
    out->kind = Condition::Kind::leaf;
    for (const auto& [key, value] : spec.items())
      if (key != "field" && key != "op" && key != "value")
        add(name + "." + key, "is not a condition key (field, op, value)");
    field(spec, name, out);
    if (op(spec, name, out)) value(spec, name, out);
  }

  void field(const json& spec, const std::string& name, Condition* out) {
    auto it = spec.find("field");
    if (it == spec.end()) return add(name + ".field", "is required");
    if (!it->is_string()) return add(name + ".field", "must be a field path, e.g. data.amount");
    const std::string& text = it->get_ref<const std::string&>();
    const std::string why = split_path(text, &out->field);
    if (why.empty()) return;
    const std::string shown = text.size() > kMaxPathBytes ? "" : " \"" + text + "\"";
    add(name + ".field", "malformed field path" + shown + " (" + why + ")");
  }

  // Whether the op was read (its value is checked only then).
  bool op(const json& spec, const std::string& name, Condition* out) {
    auto it = spec.find("op");
    if (it == spec.end()) return add(name + ".op", "is required"), false;
    const std::string text = it->is_string() ? it->get<std::string>() : it->dump();
    for (const OpSpelling& s : kOps) {
      if (it->is_string() && s.text == text) {
        out->op = s.op;
        return true;
      }
    }
    const std::string shown = text.size() > kMaxEchoBytes ? "" : " \"" + text + "\"";
    add(name + ".op", "unknown operator" + shown + " (one of " + std::string(kOpList) + ")");
    return false;
  }

  void value(const json& spec, const std::string& name, Condition* out) {
    const std::string field = name + ".value";
    auto it = spec.find("value");
    if (out->op == ConditionOp::exists) {
      if (it == spec.end()) return;
      if (!it->is_boolean()) return add(field, "must be a boolean for exists");
      out->exists = it->get<bool>();
      return;
    }
    if (it == spec.end()) return add(field, "is required for " + std::string(op_name(out->op)));
    if (out->op == ConditionOp::in) return in_values(*it, field, out);
    if (std::string why = read_scalar(*it, &out->value); !why.empty()) return add(field, why);
    const Scalar::Type type = out->value.type;
    if (ordering_op(out->op) && (type == Scalar::Type::null || type == Scalar::Type::boolean))
      add(field, "must be a number or a string for " + std::string(op_name(out->op)));
    if (out->op == ConditionOp::contains &&
        (type != Scalar::Type::string || out->value.string.empty()))
      add(field, "must be a non-empty string for contains");
  }

  void in_values(const json& list, const std::string& field, Condition* out) {
    if (!list.is_array() || list.empty() || list.size() > kMaxInValues)
      return add(field,
                 "must be an array of 1 to 1,000 values for in, each " + std::string(kScalarKinds));
    out->values.resize(list.size());
    std::size_t bad = 0;
    for (std::size_t i = 0; i < list.size() && bad < kMaxValueErrors; ++i) {
      if (std::string why = read_scalar(list[i], &out->values[i]); !why.empty()) {
        add(field + "[" + std::to_string(i) + "]", why);
        ++bad;
      }
    }
  }

  std::vector<FieldError>* errors_;
};

// ---- evaluation: no allocation, no exceptions ----

// The value `path` names in `event`, or null when it is missing.
const json* resolve(const FieldPath& path, const json& event) noexcept {
  const json* at = &event;
  for (std::size_t i = 0; i < path.segments.size(); ++i) {
    if (const auto* object = at->get_ptr<const json::object_t*>()) {
      auto it = object->find(path.segments[i]);
      if (it == object->end()) return nullptr;
      at = &it->second;
    } else if (const auto* array = at->get_ptr<const json::array_t*>()) {
      if (path.index[i] >= array->size()) return nullptr;  // kNoIndex included
      at = &(*array)[path.index[i]];
    } else {
      return nullptr;
    }
  }
  return at;
}

// A JSON number in one of its three forms.
struct Number {
  Scalar::Type type;  // integer, unsigned_integer or floating
  std::int64_t i = 0;
  std::uint64_t u = 0;
  double d = 0;

  double as_double() const {
    if (type == Scalar::Type::integer) return static_cast<double>(i);
    if (type == Scalar::Type::unsigned_integer) return static_cast<double>(u);
    return d;
  }
};

std::partial_ordering compare_numbers(const Number& a, const Number& b) noexcept {
  using T = Scalar::Type;
  if (a.type == T::floating || b.type == T::floating) return a.as_double() <=> b.as_double();
  if (a.type == T::integer && b.type == T::integer) return a.i <=> b.i;
  if (a.type == T::unsigned_integer && b.type == T::unsigned_integer) return a.u <=> b.u;
  if (a.type == T::integer)
    return a.i < 0 ? std::partial_ordering::less : static_cast<std::uint64_t>(a.i) <=> b.u;
  return b.i < 0 ? std::partial_ordering::greater : a.u <=> static_cast<std::uint64_t>(b.i);
}

// How `field` compares with `value`; unordered when their types differ.
std::partial_ordering compare(const json& field, const Scalar& value) noexcept {
  using T = Scalar::Type;
  switch (value.type) {
    case T::null:
      return field.is_null() ? std::partial_ordering::equivalent : std::partial_ordering::unordered;
    case T::boolean:
      if (const bool* b = field.get_ptr<const bool*>()) return *b <=> value.boolean;
      return std::partial_ordering::unordered;
    case T::string:
      if (const auto* s = field.get_ptr<const std::string*>())
        return std::string_view(*s) <=> std::string_view(value.string);
      return std::partial_ordering::unordered;
    default:
      break;
  }
  // By type(): get_ptr<number_integer_t*> also answers for an unsigned.
  const Number v{value.type, value.integer, value.unsigned_integer, value.floating};
  switch (field.type()) {
    case json::value_t::number_integer:
      return compare_numbers({T::integer, *field.get_ptr<const json::number_integer_t*>()}, v);
    case json::value_t::number_unsigned:
      return compare_numbers(
          {T::unsigned_integer, 0, *field.get_ptr<const json::number_unsigned_t*>()}, v);
    case json::value_t::number_float:
      return compare_numbers({T::floating, 0, 0, *field.get_ptr<const json::number_float_t*>()}, v);
    default:
      return std::partial_ordering::unordered;
  }
}

bool leaf_matches(const Condition& c, const json& event) noexcept {
  const json* field = resolve(c.field, event);
  if (c.op == ConditionOp::exists) return (field != nullptr) == c.exists;
  if (field == nullptr) return false;
  switch (c.op) {
    case ConditionOp::eq:
      return compare(*field, c.value) == 0;
    case ConditionOp::ne: {
      const std::partial_ordering o = compare(*field, c.value);
      return o < 0 || o > 0;  // unordered (a type mismatch) is neither
    }
    case ConditionOp::lt:
      return compare(*field, c.value) < 0;
    case ConditionOp::le:
      return compare(*field, c.value) <= 0;
    case ConditionOp::gt:
      return compare(*field, c.value) > 0;
    case ConditionOp::ge:
      return compare(*field, c.value) >= 0;
    case ConditionOp::in:
      return std::any_of(c.values.begin(), c.values.end(),
                         [field](const Scalar& v) { return compare(*field, v) == 0; });
    case ConditionOp::contains: {
      const auto* s = field->get_ptr<const std::string*>();
      return s != nullptr && s->find(c.value.string) != std::string::npos;
    }
    case ConditionOp::exists:
      break;
  }
  return false;
}

}  // namespace

const char* op_name(ConditionOp op) {
  for (const OpSpelling& s : kOps)
    if (s.op == op) return s.text.data();  // the literals are NUL-terminated
  return "";
}

std::optional<Condition> compile_condition(const json& spec, std::vector<FieldError>* errors,
                                           const std::string& name) {
  const std::size_t before = errors->size();
  Condition out;
  Compiler(errors).condition(spec, name, 0, &out);
  if (errors->size() != before) return std::nullopt;
  return out;
}

std::vector<FieldError> check_condition(const json& spec, const std::string& name) {
  std::vector<FieldError> errors;
  (void)compile_condition(spec, &errors, name);
  return errors;
}

bool matches(const Condition& condition, const json& event) noexcept {
  switch (condition.kind) {
    case Condition::Kind::leaf:
      return leaf_matches(condition, event);
    case Condition::Kind::all:
      for (const Condition& child : condition.children)
        if (!matches(child, event)) return false;
      return true;
    case Condition::Kind::any:
      for (const Condition& child : condition.children)
        if (matches(child, event)) return true;
      return false;
  }
  return false;
}

json to_json(const Condition& condition) {
  if (condition.kind != Condition::Kind::leaf) {
    json list = json::array();
    for (const Condition& child : condition.children) list.push_back(to_json(child));
    return json{{condition.kind == Condition::Kind::all ? "all" : "any", std::move(list)}};
  }
  json leaf = {{"field", condition.field.text}, {"op", op_name(condition.op)}};
  if (condition.op == ConditionOp::exists) {
    leaf["value"] = condition.exists;
  } else if (condition.op == ConditionOp::in) {
    json values = json::array();
    for (const Scalar& v : condition.values) values.push_back(scalar_json(v));
    leaf["value"] = std::move(values);
  } else {
    leaf["value"] = scalar_json(condition.value);
  }
  return leaf;
}

}  // namespace orch::phases::triggers
