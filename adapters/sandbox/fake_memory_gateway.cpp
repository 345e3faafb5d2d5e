// The memory gateway: POST /v1/recall (by key prefix), POST /v1/remember,
// DELETE /v1/memories/{key}.
#include <string>

#include "adapters/sandbox/fake_services.h"
#include "engine/json/json_object.h"

namespace orch::sandbox {

using nlohmann::json;
using http::Response;

Response memory_recall(Sandbox::State& s, Call& c) {
  std::string query = str_of(c.body, "query");
  std::size_t limit = 10;
  if (auto* l = obj_of(c.body, "limit"); l && l->is_number_integer() && l->get<int>() > 0)
    limit = static_cast<std::size_t>(l->get<int>());
  json mems = json::array();
  for (auto it = s.memories.lower_bound(query);
       it != s.memories.end() && mems.size() < limit && starts_with(it->first, query); ++it) {
    mems.push_back(json_object("key", it->first, "value", it->second, "score", 1.0));
  }
  return json_response(200, json_object("memories", std::move(mems), "query", query));
}

Response memory_remember(Sandbox::State& s, Call& c) {
  std::string key = str_of(c.body, "key");
  if (key.empty()) return json_response(400, {{"error", "key is required"}});
  json value;
  if (auto* v = obj_of(c.body, "value")) value = *v;
  s.memories[key] = std::move(value);
  return json_response(200, {{"key", key}, {"stored", true}});
}

Response memory_forget(Sandbox::State& s, Call& c) {
  const std::string& key = c.seg[2];
  auto it = s.memories.find(key);
  if (it == s.memories.end())
    return json_response(404, {{"error", "memory not found"}, {"key", key}});
  s.memories.erase(it);
  return json_response(200, {{"key", key}, {"deleted", true}});
}

}  // namespace orch::sandbox
