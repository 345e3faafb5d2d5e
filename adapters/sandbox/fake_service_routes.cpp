// The fake services' route table: which handler answers a method and path,
// what body it reads and which credentials it requires; 404 or 405 (+Allow)
// otherwise. And who a message send is addressed to.
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/sandbox/fake_services.h"

namespace orch::sandbox {

namespace {

struct MethodRoute {
  const char* method;
  ServiceHandler handler;
  BodyKind body;
};

RouteMatch pick(std::string_view method, const char* service, AuthKind auth,
                std::initializer_list<MethodRoute> routes) {
  RouteMatch m;
  for (const auto& r : routes) {
    if (method == r.method) {
      m.service = service;
      m.handler = r.handler;
      m.body = r.body;
      m.auth = auth;
      return m;
    }
  }
  m.error = 405;
  for (const auto& r : routes) {
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += r.method;
  }
  return m;
}

RouteMatch not_found() {
  RouteMatch m;
  m.error = 404;
  return m;
}

// The paths under /v1/: Notion, the tool service, the memory gateway, chat
// completions, Figma, FCM and rewards. REQUIRES: s.size() >= 2 and s[0] == "v1".
RouteMatch match_v1(std::string_view method, const std::vector<std::string>& s) {
  const std::size_t n = s.size();
  const std::string& b = s[1];
  if (n == 2 && b == "search")
    return pick(method, "notion", AuthKind::notion, {{"POST", notion_search, BodyKind::json}});
  if (n == 3 && b == "tools" && s[2] == "scrape")
    return pick(method, "tool_service", AuthKind::none, {{"POST", tool_scrape, BodyKind::json}});
  if (n == 2 && b == "recall")
    return pick(method, "memory_gateway", AuthKind::none,
                {{"POST", memory_recall, BodyKind::json}});
  if (n == 2 && b == "remember")
    return pick(method, "memory_gateway", AuthKind::none,
                {{"POST", memory_remember, BodyKind::json}});
  if (n == 3 && b == "memories")
    return pick(method, "memory_gateway", AuthKind::none,
                {{"DELETE", memory_forget, BodyKind::none}});
  if (n == 3 && b == "chat" && s[2] == "completions")
    return pick(method, "slm", AuthKind::none, {{"POST", slm_chat, BodyKind::json}});
  if (b == "images" && n == 3)
    return pick(method, "figma", AuthKind::figma, {{"GET", figma_images, BodyKind::none}});
  if (b == "images" && n == 4)
    return pick(method, "figma", AuthKind::figma, {{"DELETE", figma_delete, BodyKind::none}});
  if (b == "projects" && n == 4 && s[3] == "messages:send")
    return pick(method, "fcm", AuthKind::google, {{"POST", fcm_send, BodyKind::json}});
  if (b == "projects" && n == 5 && s[3] == "messages")
    return pick(method, "fcm", AuthKind::google, {{"DELETE", fcm_delete, BodyKind::none}});
  if (n == 2 && b == "credits") {
    RouteMatch m =
        pick(method, "rewards", AuthKind::rewards, {{"POST", rewards_credit, BodyKind::json}});
    m.replay = rewards_replay;  // the same key with another body is refused
    return m;
  }
  return not_found();
}

}  // namespace

RouteMatch match_service_route(std::string_view method, const std::vector<std::string>& s) {
  const std::size_t n = s.size();
  if (n < 2) return not_found();
  const std::string& a = s[0];
  if (a == "v1") return match_v1(method, s);
  if (a == "repos" && n >= 4) {
    if (n == 4 && s[3] == "pulls")
      return pick(method, "github", AuthKind::github, {{"POST", github_pulls, BodyKind::json}});
    if (n >= 5 && s[3] == "contents")
      return pick(method, "github", AuthKind::github,
                  {{"PUT", github_put_contents, BodyKind::json},
                   {"DELETE", github_delete_contents, BodyKind::json},
                   {"GET", github_get_contents, BodyKind::none}});
    return not_found();
  }
  if (a == "api") {
    if (n == 2 && s[1] == "chat.postMessage")
      return pick(method, "slack", AuthKind::slack, {{"POST", slack_post, BodyKind::form_or_json}});
    if (n == 3 && s[1] == "dashboards" && s[2] == "db")
      return pick(method, "grafana", AuthKind::grafana, {{"POST", grafana_create, BodyKind::json}});
    if (n == 4 && s[1] == "dashboards" && s[2] == "uid")
      return pick(method, "grafana", AuthKind::grafana,
                  {{"DELETE", grafana_delete, BodyKind::none}, {"GET", grafana_get, BodyKind::none}});
    return not_found();
  }
  if (a == "v3") {
    if (n == 3 && s[1] == "mail" && s[2] == "send")
      return pick(method, "sendgrid", AuthKind::sendgrid, {{"POST", sendgrid_send, BodyKind::json}});
    if (n == 3 && s[1] == "user" && s[2] == "scheduled_sends")
      return pick(method, "sendgrid", AuthKind::sendgrid,
                  {{"POST", sendgrid_scheduled, BodyKind::json}});
    if (n == 3 && s[1] == "messages")
      return pick(method, "sendgrid", AuthKind::sendgrid,
                  {{"GET", sendgrid_message, BodyKind::none}});
    return not_found();
  }
  if (a == "1" && n >= 3 && s[1] == "updates") {
    if (n == 3 && s[2] == "create.json")
      return pick(method, "buffer", AuthKind::none, {{"POST", buffer_create, BodyKind::form_or_json}});
    if (n == 4 && s[3] == "destroy.json")
      return pick(method, "buffer", AuthKind::none,
                  {{"POST", buffer_destroy, BodyKind::form_or_json}});
    return not_found();
  }
  if (a == "2010-04-01" && n >= 4 && s[1] == "Accounts") {
    if (n == 4 && s[3] == "Messages.json")
      return pick(method, "twilio", AuthKind::twilio, {{"POST", twilio_send, BodyKind::form_or_json}});
    if (n == 5 && s[3] == "Messages" && ends_with(s[4], ".json") && s[4].size() > 5)
      return pick(method, "twilio", AuthKind::twilio,
                  {{"POST", twilio_update, BodyKind::form_or_json},
                   {"GET", twilio_fetch, BodyKind::none}});
    return not_found();
  }
  return not_found();
}

std::string message_recipient(ServiceHandler handler, const Call& call) {
  if (handler == twilio_send) {
    std::string to = call.field("To").value_or("");
    return starts_with(to, "whatsapp:") ? to.substr(9) : to;
  }
  if (handler == rewards_credit) return str_of(call.body, "customer_id");
  if (handler == fcm_send) {
    const nlohmann::json* msg = obj_of(call.body, "message");
    return msg ? str_of(*msg, "token") : std::string();
  }
  if (handler == sendgrid_send) {
    const nlohmann::json* pers = obj_of(call.body, "personalizations");
    if (!pers || !pers->is_array() || pers->empty()) return {};
    const nlohmann::json* to = obj_of((*pers)[0], "to");
    if (!to || !to->is_array() || to->empty()) return {};
    return str_of((*to)[0], "email");
  }
  return {};
}

}  // namespace orch::sandbox
