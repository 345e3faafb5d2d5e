// Buffer: POST /1/updates/create.json, POST /1/updates/{id}/destroy.json;
// the access token as a field, a query parameter or a bearer token.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "adapters/sandbox/fake_services.h"
#include "engine/json/json_writer.h"

namespace orch::sandbox {

using nlohmann::json;
using http::Response;

namespace {

std::optional<Response> buffer_auth(const Call& c) {
  if (c.field("access_token").value_or("").empty() &&
      c.req.query_param("access_token").value_or("").empty() && bearer_token(c.req).empty())
    return json_response(401, {{"success", false},
                               {"code", 401},
                               {"message", "OAuth access token is missing or invalid."}});
  return std::nullopt;
}

}  // namespace

Response buffer_create(Sandbox::State& s, Call& c) {
  if (auto a = buffer_auth(c)) return *a;
  std::string text = c.field("text").value_or("");
  std::vector<std::string> profiles = c.fields(c.is_form ? "profile_ids[]" : "profile_ids");
  if (profiles.empty() && c.is_form) profiles = c.fields("profile_ids");
  if (profiles.empty())
    return json_response(400, {{"success", false}, {"code", 1004},
                               {"message", "Please select at least one profile."}});
  if (text.empty())
    return json_response(400, {{"success", false}, {"code", 1005},
                               {"message", "Please include some text."}});
  std::string photo;
  if (c.is_form) {
    photo = c.field("media[photo]").value_or("");
  } else if (auto* media = obj_of(c.body, "media")) {
    photo = str_of(*media, "photo");
  }
  int64_t now = unix_now();
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < profiles.size(); ++i) {
    ids.push_back(hex_id(s.next_id(), 24, 0xb0ff));
    s.buffer_updates[ids.back()] = "buffer";
  }
  auto count = static_cast<int64_t>(s.buffer_updates.size());
  // Written in place, keys in order (engine/json/json_writer.h).
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  w.key("buffer_count").number(count);
  w.key("buffer_percentage").number(std::min<int64_t>(100, count * 10));
  w.key("success").boolean(true);
  w.key("updates").begin_array();
  for (std::size_t i = 0; i < profiles.size(); ++i) {
    w.begin_object();
    w.key("created_at").number(now).key("due_at").number(now + 3600).key("id").string(ids[i]);
    if (!photo.empty())
      w.key("media").begin_object().key("photo").string(photo).key("thumbnail").string(photo)
          .end_object();
    w.key("profile_id").string(profiles[i]).key("profile_service").string("twitter");
    w.key("status").string("buffer").key("text").string(text).key("text_formatted").string(text);
    w.key("user_id").string("sandbox-user").key("via").string("api");
    w.end_object();
  }
  w.end_array().end_object();
  return Response::json(200, std::move(body));
}

Response buffer_destroy(Sandbox::State& s, Call& c) {
  if (auto a = buffer_auth(c)) return *a;
  auto it = s.buffer_updates.find(c.seg[2]);
  if (it == s.buffer_updates.end())
    return json_response(404, {{"success", false}, {"code", 1050},
                               {"message", "Update not found."}});
  s.buffer_updates.erase(it);
  return json_response(200, {{"success", true}});
}

}  // namespace orch::sandbox
