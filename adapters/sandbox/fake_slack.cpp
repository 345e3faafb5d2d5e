// Slack: POST /api/chat.postMessage; errors in-band (200 ok:false, not
// ledgered).
#include <cctype>
#include <cstdio>
#include <string>

#include "adapters/sandbox/fake_services.h"
#include "engine/json/json_writer.h"

namespace orch::sandbox {

using nlohmann::json;
using http::Response;

namespace {

Response slack_fail(Call& c, const char* error) {
  c.failed = true;
  return json_response(200, {{"ok", false}, {"error", error}});
}

std::string slack_channel_id(const std::string& channel) {
  bool is_id = channel.size() >= 9 && (channel[0] == 'C' || channel[0] == 'G' || channel[0] == 'D');
  for (std::size_t i = 0; is_id && i < channel.size(); ++i)
    is_id = std::isupper(static_cast<unsigned char>(channel[i])) ||
            std::isdigit(static_cast<unsigned char>(channel[i]));
  if (is_id) return channel;
  std::string h = hex_id(fnv1a(channel), 10);
  for (auto& ch : h) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return "C" + h;
}

}  // namespace

Response slack_post(Sandbox::State& s, Call& c) {
  std::string channel = c.field("channel").value_or("");
  std::string text = c.field("text").value_or("");
  if (channel.empty()) return slack_fail(c, "channel_not_found");
  if (text.empty() && !c.field("blocks") && !(c.body.is_object() && c.body.contains("blocks")))
    return slack_fail(c, "no_text");
  char ts[40];
  std::snprintf(ts, sizeof ts, "%lld.%06llu", static_cast<long long>(unix_now()),
                static_cast<unsigned long long>(s.next_id() % 1'000'000));
  std::string id = slack_channel_id(channel);
  // Written in place, keys in order (engine/json/json_writer.h).
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("channel").string(id);
  w.key("message").begin_object();
  w.key("bot_id").string("B0SANDBOX1").key("subtype").string("bot_message").key("text").string(text);
  w.key("ts").string(ts).key("type").string("message").key("user").string("U0SANDBOX1");
  w.end_object();
  w.key("ok").boolean(true).key("ts").string(ts);
  w.end_object();
  return Response::json(200, std::move(body));
}

}  // namespace orch::sandbox
