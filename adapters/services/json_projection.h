// Parses a service's JSON answer into a value that holds only the members
// its adapter reads.
//
// A service answers with much more than an adapter keeps (a pull request,
// a page, a chat completion): parsed whole, every member became a map node
// and most strings a heap copy, only to be freed a moment later. This reads
// the text with orch::parse_json_projected (engine/json/json_read.h): simdjson
// checks all of it as json::parse checks it, and only the members the paths
// name become nlohmann values.
//
// A path names a member to keep whole: keys separated by '/', '*' for every
// element of an array or every member of an object. The objects and arrays
// on the way to a kept member are kept, holding only what leads to one; in
// such an array, an element left out leaves a null in its place, so that
// positions and sizes are what the service sent.
//
//   JsonProjection fields{"number", "html_url", "head/sha", "labels/*/name"};
//   {"number":7,"title":"x","head":{"sha":"ab","ref":"r"},"labels":[{"name":"a","id":1},2]}
//     ->  {"number":7,"head":{"sha":"ab"},"labels":[{"name":"a"},null]}
//
// As with json::parse, of two equal keys in one object the last is kept.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace orch::adapters {

class JsonProjection {
 public:
  // At most kMaxPaths paths.
  JsonProjection(std::initializer_list<std::string_view> paths)
      : JsonProjection(std::vector<std::string_view>(paths)) {}
  explicit JsonProjection(const std::vector<std::string_view>& paths);

  // Parses `text` into `out`. Returns false, with `out` discarded, when the
  // text is not JSON (what json::parse(text, nullptr, false) rejects).
  bool parse(std::string_view text, nlohmann::json& out) const;

  static constexpr std::size_t kMaxPaths = 32;

 private:
  std::vector<std::vector<std::string>> paths_;  // split on '/'
};

}  // namespace orch::adapters
