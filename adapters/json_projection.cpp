#include "adapters/json_projection.h"

#include <cstdint>
#include <stdexcept>

namespace orch::adapters {

using nlohmann::json;

JsonProjection::JsonProjection(const std::vector<std::string_view>& paths) {
  if (paths.size() > kMaxPaths) throw std::invalid_argument("JsonProjection: too many paths");
  for (std::string_view path : paths) {
    std::vector<std::string> segments;
    std::size_t start = 0;
    for (;;) {
      std::size_t slash = path.find('/', start);
      segments.emplace_back(path.substr(start, slash - start));
      if (slash == std::string_view::npos) break;
      start = slash + 1;
    }
    paths_.push_back(std::move(segments));
  }
}

// The SAX handler (nlohmann's json_sax interface) that builds the projection.
class ProjectionBuilder {
 public:
  ProjectionBuilder(const JsonProjection& projection, json& root)
      : paths_(projection.paths_), root_(root) {}

  bool null() { return scalar(nullptr); }
  bool boolean(bool v) { return scalar(v); }
  bool number_integer(json::number_integer_t v) { return scalar(v); }
  bool number_unsigned(json::number_unsigned_t v) { return scalar(v); }
  bool number_float(json::number_float_t v, const json::string_t&) { return scalar(v); }
  bool string(json::string_t& v) { return scalar(v); }
  bool binary(json::binary_t& v) { return scalar(json::binary(v)); }

  bool start_object(std::size_t) { return open(json::value_t::object); }
  bool start_array(std::size_t) { return open(json::value_t::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& k) {
    Frame& top = stack_.back();
    if (top.node != nullptr) top.key.assign(k);
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

 private:
  // An object or array being read.
  struct Frame {
    json* node = nullptr;      // nullptr: skipped (read and checked, not kept)
    bool array = false;
    bool keep_all = false;     // every member below is kept
    std::uint32_t alive = 0;   // the paths that may still name a member below
    std::size_t depth = 0;     // path segments from the root to this container
    std::string key;           // the member being read, in an object
  };

  enum class Fate { keep_all, partial, skip };

  // What happens to the next value read in the container on top (or to the
  // root), and which paths stay alive below it.
  Fate fate(bool container, std::uint32_t* alive) const {
    *alive = 0;
    if (stack_.empty()) {  // the root
      if (paths_.empty()) return Fate::keep_all;
      static_assert(JsonProjection::kMaxPaths == 32, "one bit of `alive` per path");
      *alive = paths_.size() == JsonProjection::kMaxPaths ? ~0u : (1u << paths_.size()) - 1;
      return container ? Fate::partial : Fate::keep_all;
    }
    const Frame& parent = stack_.back();
    if (parent.node == nullptr) return Fate::skip;
    if (parent.keep_all) return Fate::keep_all;
    bool whole = false;
    for (std::size_t i = 0; i < paths_.size(); ++i) {
      if ((parent.alive & (1u << i)) == 0) continue;
      const std::string& segment = paths_[i][parent.depth];
      if (segment != "*" && (parent.array || segment != parent.key)) continue;
      if (paths_[i].size() == parent.depth + 1) {
        whole = true;
      } else {
        *alive |= 1u << i;
      }
    }
    if (whole) return Fate::keep_all;
    return (container && *alive != 0) ? Fate::partial : Fate::skip;
  }

  // Where the next kept value goes.
  json& slot() {
    if (stack_.empty()) return root_;
    Frame& parent = stack_.back();
    if (parent.array) return parent.node->emplace_back();
    return (*parent.node)[parent.key];  // of two equal keys the last wins, as json::parse
  }

  // A value left out of an array that is kept in part leaves a null in its
  // place, so that positions and sizes stay what the service sent.
  bool holds_place() const {
    if (stack_.empty()) return false;
    const Frame& parent = stack_.back();
    return parent.node != nullptr && parent.array && !parent.keep_all;
  }

  template <class Value>
  bool scalar(Value&& v) {
    std::uint32_t alive = 0;
    if (fate(false, &alive) != Fate::skip) {
      slot() = json(std::forward<Value>(v));
    } else if (holds_place()) {
      slot() = nullptr;
    }
    return true;
  }

  bool open(json::value_t type) {
    std::uint32_t alive = 0;
    const Fate f = fate(true, &alive);
    Frame frame;
    frame.array = type == json::value_t::array;
    frame.depth = stack_.empty() ? 0 : stack_.back().depth + 1;
    if (f != Fate::skip) {
      json& node = slot();
      node = json(type);
      frame.node = &node;
      frame.keep_all = f == Fate::keep_all;
      frame.alive = alive;
    } else if (holds_place()) {
      slot() = nullptr;
    }
    stack_.push_back(std::move(frame));
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  const std::vector<std::vector<std::string>>& paths_;
  json& root_;
  std::vector<Frame> stack_;
};

bool JsonProjection::parse(std::string_view text, json& out) const {
  out = json();
  ProjectionBuilder builder(*this, out);
  if (!json::sax_parse(text.begin(), text.end(), &builder)) {
    out = json(json::value_t::discarded);
    return false;
  }
  return true;
}

}  // namespace orch::adapters
