// FCM (HTTP v1): POST /v1/projects/{p}/messages:send, DELETE
// /v1/projects/{p}/messages/{id}.
#include <string>

#include "adapters/sandbox/fake_services.h"

namespace orch::sandbox {

using nlohmann::json;
using http::Response;

namespace {

Response google_error(int status, const char* code, const std::string& message) {
  return json_response(status, {{"error", {{"code", status}, {"message", message}, {"status", code}}}});
}

}  // namespace

Response fcm_send(Sandbox::State& s, Call& c) {
  const std::string& project = c.seg[2];
  auto* msg = obj_of(c.body, "message");
  if (!msg || !msg->is_object())
    return google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload: 'message' is required.");
  int targets = 0;
  for (const char* t : {"token", "topic", "condition"})
    if (!str_of(*msg, t).empty()) ++targets;
  if (targets != 1)
    return google_error(400, "INVALID_ARGUMENT",
                        "Exactly one of token, topic or condition must be specified.");
  c.recipient = str_of(*msg, "token");
  std::string id = hex_id(s.next_id(), 16, 0xfc3);
  s.fcm_messages[id] = project;
  return json_response(200, {{"name", "projects/" + project + "/messages/" + id}});
}

Response fcm_delete(Sandbox::State& s, Call& c) {
  auto it = s.fcm_messages.find(c.seg[4]);
  if (it == s.fcm_messages.end() || it->second != c.seg[2])
    return google_error(404, "NOT_FOUND", "Requested entity was not found.");
  s.fcm_messages.erase(it);
  return json_response(200, json::object());
}

}  // namespace orch::sandbox
