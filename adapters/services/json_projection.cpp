#include "adapters/services/json_projection.h"

#include <stdexcept>

#include "engine/json/json_read.h"

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

bool JsonProjection::parse(std::string_view text, json& out) const {
  return parse_json_projected(text, paths_, out);
}

}  // namespace orch::adapters
