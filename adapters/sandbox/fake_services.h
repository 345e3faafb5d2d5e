// What the fake services share, internal to the sandbox: each service's
// handlers (the route table in fake_service_routes.cpp names them), the
// readers of request bodies and headers they use, the values they make up
// (ids, slugs, timestamps), and the error bodies service_error() borrows.
// Every handler runs with State::mu held and only builds a Response; the
// ledger, the idempotency cache, faults and latency are handled by
// sandbox.cpp. A handler's 2xx answer (unless it sets Call::failed) becomes
// ledger entry s.ledger.size() right after it returns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "adapters/http/http_message.h"
#include "adapters/sandbox/sandbox_state.h"

namespace orch::sandbox {

// --- reading requests ------------------------------------------------------

inline bool starts_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
}

inline bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// The string under `key` of a JSON object, or "".
inline std::string str_of(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// The value under `key` of a JSON object, or null.
inline const nlohmann::json* obj_of(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  if (it == j.end()) return nullptr;
  return &*it;
}

// The token of an "Authorization: Bearer ..." header, or "" (fake_service_auth.cpp).
std::string_view bearer_token(const http::Request& req);
// Whether the Authorization header uses `scheme` ("Basic ", "token ").
bool has_scheme(const http::Request& req, std::string_view scheme);

// --- made-up values (fake_service_values.cpp) ------------------------------

// Seconds since the Unix epoch, from the system clock.
int64_t unix_now();
// `t` as RFC 2822 in UTC ("Mon, 01 Jan 2024 00:00:00 +0000"), as Twilio dates.
std::string rfc2822(int64_t t);
// Lower-case ASCII letters and digits joined by '-' ("dashboard" if none).
std::string slugify(std::string_view s);
// `s` without leading and trailing white space.
std::string trim(std::string_view s);
// A UUID-shaped id (8-4-4-4-12 hex digits) derived from `a` and `b`.
std::string uuid_of(uint64_t a, uint64_t b);

// --- error bodies shared with service_error() ------------------------------

// SendGrid's {"errors":[{"message","field","help"}]}; "" field: null.
http::Response sendgrid_error(int status, const std::string& field, const std::string& message);
// GitHub's {"message","documentation_url","status"[,"errors"]}.
http::Response github_error(int status, const std::string& message,
                            nlohmann::json errors = nullptr);
// Twilio's {"code","message","more_info","status"}.
http::Response twilio_error(int status, int code, const std::string& message);
// The rewards service's {"error":{"message"[,"param"]}}; "" param: none.
http::Response rewards_error(int status, const std::string& message,
                             const std::string& param = "");

// --- the handlers, by service ----------------------------------------------

// Notion (fake_notion.cpp)
http::Response notion_search(Sandbox::State& s, Call& c);

// Tool service (fake_tool_service.cpp)
http::Response tool_scrape(Sandbox::State& s, Call& c);

// Memory gateway (fake_memory_gateway.cpp)
http::Response memory_recall(Sandbox::State& s, Call& c);
http::Response memory_remember(Sandbox::State& s, Call& c);
http::Response memory_forget(Sandbox::State& s, Call& c);

// OpenAI-compatible chat completions (fake_chat_completions.cpp)
http::Response slm_chat(Sandbox::State& s, Call& c);

// Figma (fake_figma.cpp)
http::Response figma_images(Sandbox::State& s, Call& c);
http::Response figma_delete(Sandbox::State& s, Call& c);

// GitHub (fake_github.cpp)
http::Response github_pulls(Sandbox::State& s, Call& c);
http::Response github_put_contents(Sandbox::State& s, Call& c);
http::Response github_delete_contents(Sandbox::State& s, Call& c);
http::Response github_get_contents(Sandbox::State& s, Call& c);

// Slack (fake_slack.cpp)
http::Response slack_post(Sandbox::State& s, Call& c);

// SendGrid (fake_sendgrid.cpp)
http::Response sendgrid_send(Sandbox::State& s, Call& c);
http::Response sendgrid_message(Sandbox::State& s, Call& c);
http::Response sendgrid_scheduled(Sandbox::State& s, Call& c);

// Buffer (fake_buffer.cpp)
http::Response buffer_create(Sandbox::State& s, Call& c);
http::Response buffer_destroy(Sandbox::State& s, Call& c);

// Grafana (fake_grafana.cpp)
http::Response grafana_create(Sandbox::State& s, Call& c);
http::Response grafana_delete(Sandbox::State& s, Call& c);
http::Response grafana_get(Sandbox::State& s, Call& c);

// Twilio (fake_twilio.cpp)
http::Response twilio_send(Sandbox::State& s, Call& c);
http::Response twilio_update(Sandbox::State& s, Call& c);
http::Response twilio_fetch(Sandbox::State& s, Call& c);

// FCM (fake_fcm.cpp)
http::Response fcm_send(Sandbox::State& s, Call& c);
http::Response fcm_delete(Sandbox::State& s, Call& c);

// Rewards (fake_rewards.cpp): POST /v1/credits and the repeat of its key.
http::Response rewards_credit(Sandbox::State& s, Call& c);
http::Response rewards_replay(Sandbox::State& s, const Call& c, const LedgerEntry& applied);

}  // namespace orch::sandbox
