// JSON text written value by value, for request bodies on hot paths.
//
// Building a body as a tree first (json_object(...) then dump_json) costs a
// map node and often a string per member, and as much again to destroy it:
// under the benchmark, building and destroying Grafana's dashboard, the
// language model's prompt and the other request bodies were about a twelfth
// of the orchestrator's allocations. This writes the same text directly.
//
//   std::string body;
//   JsonWriter w(body);
//   w.begin_object().key("id").number(7).key("tags").begin_array()
//    .string("campaign").end_array().end_object();        // {"id":7,"tags":["campaign"]}
//
// Strings are escaped as dump_json escapes them (so a byte sequence that is
// not UTF-8 throws json::type_error, as dump() does). Members are written in
// the order given; written in key order, the text is the same as dump_json
// of the equivalent tree, whose objects keep their keys sorted.
// json_writer_test checks both.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace orch {

class JsonWriter {
 public:
  // Appends to `out`, which must outlive the writer.
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }
  // The next member's key; its value follows.
  JsonWriter& key(std::string_view name);

  JsonWriter& string(std::string_view text);
  JsonWriter& number(std::int64_t value);
  JsonWriter& boolean(bool value);
  JsonWriter& null();
  // Any value, as dump_json writes it.
  JsonWriter& value(const nlohmann::json& value);
  // A value already written as JSON text (e.g. a stored document's member),
  // copied as it is. REQUIRES: `text` is one JSON value.
  JsonWriter& raw(std::string_view text);

 private:
  JsonWriter& open(char bracket);
  JsonWriter& close(char bracket);
  void separate() {
    if (need_comma_) out_ += ',';
    need_comma_ = true;
  }

  std::string& out_;
  bool need_comma_ = false;  // a value was written at this level
};

}  // namespace orch
