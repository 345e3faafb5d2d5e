#include "adapters/json_projection.h"

#include <cstdint>
#include <stdexcept>

#include "engine/json_read.h"

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

namespace {

// Reads the value at the reader into `node`, keeping only what the paths
// alive below it (a bit per path) lead to; `depth` path segments lie
// between the root and `node`.
class Projector {
 public:
  Projector(const std::vector<std::vector<std::string>>& paths, JsonReader& reader)
      : paths_(paths), reader_(reader) {}

  bool partial(json& node, std::uint32_t alive, std::size_t depth) {
    const char c = reader_.peek();
    if (c == '{') {
      if (!reader_.begin_object()) return false;
      node = json::object();
      auto& object = *node.get_ptr<json::object_t*>();
      bool first = true;
      std::string key;
      while (reader_.next_member(first, key)) {
        if (!member(&key, alive, depth, [&]() -> json& { return object[key]; },
                    [&] { object.erase(key); }))  // of two equal keys the last wins
          return false;
      }
      return !reader_.failed();
    }
    if (c == '[') {
      if (!reader_.begin_array()) return false;
      node = json::array();
      auto& array = *node.get_ptr<json::array_t*>();
      bool first = true;
      while (reader_.next_element(first)) {
        // An element left out leaves a null, so positions and sizes stay.
        if (!member(nullptr, alive, depth, [&]() -> json& { return array.emplace_back(); },
                    [&] { array.emplace_back(); }))
          return false;
      }
      return !reader_.failed();
    }
    return reader_.read(node);  // a scalar root
  }

 private:
  // One member (key != nullptr) or element of a container kept in part.
  template <class Slot, class LeftOut>
  bool member(const std::string* key, std::uint32_t alive, std::size_t depth, Slot slot,
              LeftOut left_out) {
    bool whole = false;
    std::uint32_t below = 0;
    for (std::size_t i = 0; i < paths_.size(); ++i) {
      if ((alive & (1u << i)) == 0) continue;
      const std::string& segment = paths_[i][depth];
      if (segment != "*" && (key == nullptr || segment != *key)) continue;
      if (paths_[i].size() == depth + 1) whole = true;
      else below |= 1u << i;
    }
    if (whole) return reader_.read(slot());
    if (below != 0) {
      const char c = reader_.peek();
      if (c == '{' || c == '[') return partial(slot(), below, depth + 1);
    }
    if (!reader_.skip()) return false;
    if (key == nullptr || below != 0) left_out();
    return true;
  }

  const std::vector<std::vector<std::string>>& paths_;
  JsonReader& reader_;
};

}  // namespace

bool JsonProjection::parse(std::string_view text, json& out) const {
  out = json();
  JsonReader reader(text);
  bool ok;
  if (paths_.empty()) {
    ok = reader.read(out);
  } else {
    static_assert(kMaxPaths == 32, "one bit of a 32-bit mask per path");
    const std::uint32_t all = paths_.size() == kMaxPaths ? ~0u : (1u << paths_.size()) - 1;
    ok = Projector(paths_, reader).partial(out, all, 0);
  }
  if (!ok || !reader.at_end()) {
    out = json(json::value_t::discarded);
    return false;
  }
  return true;
}

}  // namespace orch::adapters
