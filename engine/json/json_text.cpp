#include "engine/json/json_text.h"

#include "engine/json/json_ascii.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace orch {

namespace {

using nlohmann::json;

// What nlohmann writes for an ASCII byte below 0x20 (ensure_ascii off):
// the short escapes, else \u00XX with lower-case hex digits.
void append_control(std::string& out, unsigned char c) {
  switch (c) {
    case '\b': out += "\\b"; return;
    case '\t': out += "\\t"; return;
    case '\n': out += "\\n"; return;
    case '\f': out += "\\f"; return;
    case '\r': out += "\\r"; return;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out.append(escaped, sizeof escaped);
      return;
    }
  }
}

std::size_t plain_prefix(std::string_view s) {
  return json_ascii::plain_prefix(s.data(), s.size());
}

void append_string(std::string& out, std::string_view s,
                   InvalidUtf8 invalid = InvalidUtf8::throw_type_error) {
  std::string_view rest(s);
  std::size_t plain = plain_prefix(rest);
  if (plain == rest.size()) {  // the common case: one append
    out += '"';
    out.append(s);
    out += '"';
    return;
  }
  if (!json_ascii::all_ascii(rest.data() + plain, rest.size() - plain)) {
    // UTF-8: nlohmann validates it, and throws on a bad byte or replaces it.
    out += json(std::string(s)).dump(-1, ' ', false,
                                     invalid == InvalidUtf8::replace
                                         ? json::error_handler_t::replace
                                         : json::error_handler_t::strict);
    return;
  }
  out += '"';
  for (;;) {
    out.append(rest.data(), plain);
    if (plain == rest.size()) break;
    const auto c = static_cast<unsigned char>(rest[plain]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      append_control(out, c);
    }
    rest.remove_prefix(plain + 1);
    plain = plain_prefix(rest);
  }
  out += '"';
}

template <class Integer>
void append_integer(std::string& out, Integer v) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  (void)ec;  // 24 characters hold any 64-bit integer
  out.append(buffer, end);
}

}  // namespace

void append_json(std::string& out, const json& value) {
  switch (value.type()) {
    case json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, member] : value.get_ref<const json::object_t&>()) {
        if (!first) out += ',';
        first = false;
        append_string(out, key);
        out += ':';
        append_json(out, member);
      }
      out += '}';
      return;
    }
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (const json& element : value.get_ref<const json::array_t&>()) {
        if (!first) out += ',';
        first = false;
        append_json(out, element);
      }
      out += ']';
      return;
    }
    case json::value_t::string:
      append_string(out, value.get_ref<const std::string&>());
      return;
    case json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case json::value_t::null:
      out += "null";
      return;
    case json::value_t::number_integer:
      append_integer(out, value.get<std::int64_t>());
      return;
    case json::value_t::number_unsigned:
      append_integer(out, value.get<std::uint64_t>());
      return;
    case json::value_t::number_float:
    case json::value_t::binary:
    case json::value_t::discarded:
      out += value.dump();
      return;
  }
}

void append_json_string(std::string& out, std::string_view text, InvalidUtf8 invalid) {
  append_string(out, text, invalid);
}

void append_json_integer(std::string& out, std::int64_t value) { append_integer(out, value); }

std::string dump_json(const json& value) {
  // Built in a buffer that keeps its capacity, so the result is one
  // allocation of the right size instead of a string grown by doubling
  // (about three reallocations per journal payload). A buffer grown past
  // kKeptCapacity by a large document is given back.
  constexpr std::size_t kKeptCapacity = 64 * 1024;
  thread_local std::string scratch;
  scratch.clear();
  append_json(scratch, value);
  std::string out(scratch);
  if (scratch.capacity() > kKeptCapacity) std::string().swap(scratch);
  return out;
}

}  // namespace orch
