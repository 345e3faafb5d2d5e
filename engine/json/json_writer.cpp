#include "engine/json/json_writer.h"

#include "engine/json/json_ascii.h"
#include "engine/json/json_text.h"

#include <cstring>

namespace orch {

JsonWriter& JsonWriter::key(std::string_view name) {
  // A short key with nothing to escape (the usual case: a literal) goes in
  // with one append, separator, quotes and colon included.
  constexpr std::size_t kShort = 48;
  if (name.size() <= kShort && json_ascii::plain_prefix(name.data(), name.size()) == name.size()) {
    char buffer[kShort + 4];
    std::size_t n = 0;
    if (need_comma_) buffer[n++] = ',';
    buffer[n++] = '"';
    std::memcpy(buffer + n, name.data(), name.size());
    n += name.size();
    buffer[n++] = '"';
    buffer[n++] = ':';
    out_.append(buffer, n);
    need_comma_ = false;
    return *this;
  }
  separate();
  append_json_string(out_, name);
  out_ += ':';
  need_comma_ = false;  // the member's value follows without one
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view text) {
  separate();
  append_json_string(out_, text);
  return *this;
}

JsonWriter& JsonWriter::number(std::int64_t value) {
  separate();
  append_json_integer(out_, value);
  return *this;
}

JsonWriter& JsonWriter::boolean(bool value) {
  separate();
  out_ += value ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null() {
  separate();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::value(const nlohmann::json& value) {
  separate();
  append_json(out_, value);
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view text) {
  separate();
  out_ += text;
  return *this;
}

JsonWriter& JsonWriter::open(char bracket) {
  separate();
  out_ += bracket;
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::close(char bracket) {
  out_ += bracket;
  need_comma_ = true;
  return *this;
}

}  // namespace orch
