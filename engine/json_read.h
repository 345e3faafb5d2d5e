// JSON text read into nlohmann::json faster than json::parse, and able to
// skip a value without building it.
//
// Written by hand because nlohmann's lexer costs about 60 instructions a
// byte (it goes through its input adapter one byte at a time and copies
// every byte it reads into its error context, and every string byte into a
// token): reading the services' answers was a sixth of the orchestrator's
// instructions under the benchmark, most of it spent on members the
// adapters then threw away. Nothing we depend on reads JSON faster or skips
// without building.
//
// It accepts and rejects what json::parse(text, nullptr, false) does: the
// RFC 8259 grammar, UTF-8 checked as nlohmann checks it (in skipped strings
// too), \u escapes with surrogate pairs, a leading UTF-8 byte order mark,
// the end of the text at a NUL byte after the value,
// and integers as number_unsigned / number_integer when they fit, else
// number_float (a float out of double's range is rejected). One limit of its
// own: nesting deeper than kMaxDepth is rejected. Of two equal keys in one
// object the last is kept. json_read_test compares the two parsers over
// hand-written, generated and mutated texts.
//
//   JsonReader r(text);                       // a reader over one document
//   if (r.peek() == '{' && r.begin_object()) {
//     bool first = true;
//     std::string key;
//     while (r.next_member(first, key)) { key == "id" ? r.read(id) : r.skip(); }
//   }
//   ok = !r.failed() && r.at_end();
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace orch {

class JsonReader {
 public:
  static constexpr int kMaxDepth = 512;

  // `text` must outlive the reader.
  explicit JsonReader(std::string_view text);

  // The first byte of the next value after whitespace ('{', '[', '"', a
  // digit, '-', 't', 'f' or 'n' when the text is well formed), or '\0' at
  // the end of the text.
  char peek();

  // Reads the next value whole into `out`.
  bool read(nlohmann::json& out) { return value(&out); }
  // Reads and checks the next value, building nothing.
  bool skip() { return value(nullptr); }

  // Consumes the '{' that peek() returned, then next_member() moves from
  // member to member: it returns true with `key` set and the reader at the
  // member's value (which the caller must read or skip), false after the
  // closing '}' or on an error (failed() tells which). `first` starts true.
  bool begin_object();
  bool next_member(bool& first, std::string& key);
  // The same for an array: next_element() returns true at each element.
  bool begin_array();
  bool next_element(bool& first);

  // Whether only whitespace is left (up to a NUL byte, where nlohmann's
  // lexer ends the text).
  bool at_end();
  bool failed() const { return failed_; }

 private:
  bool value(nlohmann::json* out);
  bool string(std::string* out);
  bool escape(std::string* out);
  bool utf8();
  bool number(nlohmann::json* out);
  bool literal(std::string_view word);
  bool enter();
  bool next_item(bool& first, char close);
  bool fail() {
    failed_ = true;
    return false;
  }
  void whitespace();

  const char* p_;
  const char* end_;
  int depth_ = 0;
  bool failed_ = false;
};

// json::parse(text, nullptr, false) into `out`, faster. False, with `out`
// discarded, when the text is not one JSON value.
bool parse_json(std::string_view text, nlohmann::json& out);

}  // namespace orch
