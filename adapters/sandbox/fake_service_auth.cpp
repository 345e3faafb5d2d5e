// The credentials each fake service requires, and the answer it gives
// without them: its own 401/403 shape (Slack's in-band ok:false).
#include <optional>
#include <string_view>

#include "adapters/sandbox/fake_services.h"

namespace orch::sandbox {

using nlohmann::json;
using http::Response;

std::string_view bearer_token(const http::Request& req) {
  auto h = req.header("Authorization");
  if (!h) return {};
  std::string_view v = *h;
  if (v.size() > 7 && (starts_with(v, "Bearer ") || starts_with(v, "bearer ")))
    return v.substr(7);
  return {};
}

bool has_scheme(const http::Request& req, std::string_view scheme) {
  auto h = req.header("Authorization");
  return h && h->size() > scheme.size() && starts_with(*h, scheme);
}

std::optional<Response> check_auth(AuthKind auth, const http::Request& req) {
  switch (auth) {
    case AuthKind::none:
      return std::nullopt;
    case AuthKind::bearer:
      if (!bearer_token(req).empty()) return std::nullopt;
      return problem(401, "missing bearer token");
    case AuthKind::notion:
      if (bearer_token(req).empty())
        return json_response(401, {{"object", "error"},
                                   {"status", 401},
                                   {"code", "unauthorized"},
                                   {"message", "API token is invalid."}});
      if (!req.header("Notion-Version"))
        return json_response(
            400, {{"object", "error"},
                  {"status", 400},
                  {"code", "missing_version"},
                  {"message", "Notion-Version header failed validation: Notion-Version "
                              "header should be defined, instead was `undefined`."}});
      return std::nullopt;
    case AuthKind::figma: {
      auto t = req.header("X-Figma-Token");
      if ((t && !t->empty()) || !bearer_token(req).empty()) return std::nullopt;
      return json_response(403, {{"status", 403}, {"err", "Invalid token"}});
    }
    case AuthKind::slack:
      if (!bearer_token(req).empty()) return std::nullopt;
      return json_response(200, {{"ok", false}, {"error", "not_authed"}});
    case AuthKind::twilio:
      if (has_scheme(req, "Basic ")) return std::nullopt;
      return json_response(401, {{"code", 20003},
                                 {"message", "Authenticate"},
                                 {"more_info", "https://www.twilio.com/docs/errors/20003"},
                                 {"status", 401}});
    case AuthKind::google:
      if (!bearer_token(req).empty()) return std::nullopt;
      return json_response(
          401, {{"error",
                 {{"code", 401},
                  {"message", "Request is missing required authentication credential."},
                  {"status", "UNAUTHENTICATED"}}}});
    case AuthKind::github:
      if (!bearer_token(req).empty() || has_scheme(req, "token ")) return std::nullopt;
      return json_response(401, {{"message", "Requires authentication"},
                                 {"documentation_url", "https://docs.github.com/rest"}});
    case AuthKind::sendgrid:
      if (!bearer_token(req).empty()) return std::nullopt;
      return json_response(
          401, {{"errors", json::array({{{"field", nullptr},
                                         {"message", "authorization required"}}})}});
    case AuthKind::grafana:
      if (!bearer_token(req).empty() || has_scheme(req, "Basic ")) return std::nullopt;
      return json_response(401, {{"message", "Unauthorized"}});
    case AuthKind::rewards:
      if (!bearer_token(req).empty()) return std::nullopt;
      return rewards_error(401, "a bearer token is required");
  }
  return std::nullopt;
}

}  // namespace orch::sandbox
