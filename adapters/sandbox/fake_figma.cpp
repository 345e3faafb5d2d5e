// Figma: GET /v1/images/{file}?ids=&format= renders, DELETE
// /v1/images/{file}/{asset}.
#include <map>
#include <string>
#include <string_view>

#include "adapters/sandbox/fake_services.h"
#include "engine/json/json_writer.h"

namespace orch::sandbox {

using nlohmann::json;
using http::Response;

Response figma_images(Sandbox::State& s, Call& c) {
  const std::string& file_key = c.seg[2];
  auto ids = c.req.query_param("ids");
  if (!ids || ids->empty())
    return json_response(400, {{"status", 400}, {"err", "Missing required parameter: ids"}});
  std::string format = c.req.query_param("format").value_or("png");
  if (format != "png" && format != "jpg" && format != "svg" && format != "pdf")
    return json_response(400, {{"status", 400}, {"err", "Invalid format: " + format}});
  std::map<std::string, std::string> images;  // by node id, in key order; a repeated id: the last
  std::string_view rest(*ids);
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string node = trim(rest.substr(0, comma));
    if (!node.empty()) {
      std::string asset = "img_" + hex_id(s.next_id(), 16, fnv1a(file_key));
      s.figma_assets[asset] = file_key;
      images[node] = "https://figma-sandbox.local/images/" + asset + "." + format;
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  if (images.empty())
    return json_response(400, {{"status", 400}, {"err", "Missing required parameter: ids"}});
  // Written in place, keys in order (engine/json/json_writer.h).
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("err").null().key("images").begin_object();
  for (const auto& [node, url] : images) w.key(node).string(url);
  w.end_object().end_object();
  return Response::json(200, std::move(body));
}

Response figma_delete(Sandbox::State& s, Call& c) {
  const std::string& file_key = c.seg[2];
  const std::string& asset = c.seg[3];
  auto it = s.figma_assets.find(asset);
  if (it == s.figma_assets.end() || it->second != file_key)
    return json_response(404, {{"status", 404}, {"err", "Not found"}});
  s.figma_assets.erase(it);
  return json_response(200, {{"err", nullptr}, {"id", asset}, {"deleted", true}});
}

}  // namespace orch::sandbox
