// Bearer-token authentication and role-based authorisation of the REST API.
//
// Tokens are configured by the SHA-256 of their value (config `auth.tokens`,
// see README "Authentication"); the server never holds a token in clear.
// A request's token is hashed and looked up, so lookups take the same time
// whatever prefix of a real token is presented.
//
// Roles, from least to most: viewer (read), reviewer (read, approve/reject
// as its own identity), operator (read, start, edit content, cancel,
// pause/resume, retry), admin (everything, including breaker commands).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace orch::api {

enum class Role { viewer, reviewer, operator_, admin };
const char* to_string(Role role);
std::optional<Role> parse_role(std::string_view text);

// What a route needs.
enum class Permission { open, read, review, operate, admin };
bool role_allows(Role role, Permission permission);

struct ApiToken {
  std::string id;       // a name for the token, shown in the audit trail
  std::string subject;  // the identity acting (a reviewer's name)
  Role role = Role::viewer;
  std::string sha256;   // 64 lowercase hex digits of SHA-256(token)
};

// /health, /ready, /metrics, and the API's documentation: /openapi.json,
// /docs and the files the page loads (api/router/api_docs.h).
std::vector<std::string> default_open_paths();

struct AuthConfig {
  bool enabled = true;
  std::vector<ApiToken> tokens;
  // Paths answered without a token (exact paths, no query).
  std::vector<std::string> open_paths = default_open_paths();
};

// Who made a request.
struct Principal {
  std::string subject;
  Role role = Role::viewer;
  std::string token_id;
  // {subject, role, token}: journaled with every human action.
  nlohmann::json actor() const;
};

class Authenticator {
 public:
  // Returns "" or what is wrong with the configuration.
  static std::string validate(const AuthConfig& config);
  explicit Authenticator(AuthConfig config);

  bool enabled() const { return config_.enabled; }
  bool open(std::string_view path) const;

  enum class Failure { none, missing, malformed, unknown };
  // The principal of an `Authorization: Bearer <token>` header value.
  std::optional<Principal> authenticate(std::optional<std::string_view> header,
                                        Failure* why) const;

 private:
  AuthConfig config_;
  std::unordered_map<std::string, const ApiToken*> by_hash_;
};

}  // namespace orch::api
