// Grafana: POST /api/dashboards/db, GET|DELETE /api/dashboards/uid/{uid}.
#include <string>

#include "adapters/sandbox/fake_services.h"
#include "engine/json/json_object.h"

namespace orch::sandbox {

using nlohmann::json;
using http::Response;

Response grafana_create(Sandbox::State& s, Call& c) {
  auto* dash = obj_of(c.body, "dashboard");
  if (!dash || !dash->is_object())
    return json_response(400, {{"message", "bad request data"}, {"status", "bad-request"}});
  std::string title = str_of(*dash, "title");
  if (title.empty())
    return json_response(400, {{"message", "Dashboard title cannot be empty"},
                               {"status", "empty-name"}});
  std::string uid = str_of(*dash, "uid");
  if (uid.empty()) uid = hex_id(s.next_id(), 14, 0x6af);
  bool overwrite = false;
  if (auto* o = obj_of(c.body, "overwrite"); o && o->is_boolean()) overwrite = o->get<bool>();
  auto it = s.dashboards.find(uid);
  Dashboard d;
  if (it != s.dashboards.end()) {
    if (!overwrite)
      return json_response(412, {{"message", "A dashboard with the same uid already exists"},
                                 {"status", "name-exists"}});
    d = it->second;
    d.version += 1;
    d.title = title;
  } else {
    d.id = ++s.dashboard_ids;
    d.title = title;
    d.version = 1;
  }
  s.dashboards[uid] = d;
  std::string slug = slugify(title);
  return json_response(200, json_object("id", d.id,
                                        "uid", uid,
                                        "url", "/d/" + uid + "/" + slug,
                                        "status", "success",
                                        "version", d.version,
                                        "slug", slug));
}

Response grafana_delete(Sandbox::State& s, Call& c) {
  auto it = s.dashboards.find(c.seg[3]);
  if (it == s.dashboards.end()) return json_response(404, {{"message", "Dashboard not found"}});
  json body = {{"title", it->second.title},
               {"message", "Dashboard " + it->second.title + " deleted"},
               {"id", it->second.id}};
  s.dashboards.erase(it);
  return json_response(200, body);
}

Response grafana_get(Sandbox::State& s, Call& c) {
  auto it = s.dashboards.find(c.seg[3]);
  if (it == s.dashboards.end()) return json_response(404, {{"message", "Dashboard not found"}});
  std::string slug = slugify(it->second.title);
  return json_response(200, {{"dashboard",
                              {{"id", it->second.id},
                               {"uid", c.seg[3]},
                               {"title", it->second.title},
                               {"version", it->second.version}}},
                             {"meta", {{"slug", slug}, {"url", "/d/" + c.seg[3] + "/" + slug}}}});
}

}  // namespace orch::sandbox
