#include "api/server/auth.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "api/router/api_docs.h"
#include "engine/common/digest.h"

namespace orch::api {

const char* to_string(Role role) {
  switch (role) {
    case Role::viewer: return "viewer";
    case Role::reviewer: return "reviewer";
    case Role::operator_: return "operator";
    case Role::admin: return "admin";
  }
  return "viewer";
}

std::optional<Role> parse_role(std::string_view text) {
  for (Role r : {Role::viewer, Role::reviewer, Role::operator_, Role::admin})
    if (text == to_string(r)) return r;
  return std::nullopt;
}

bool role_allows(Role role, Permission permission) {
  switch (permission) {
    case Permission::open:
    case Permission::read: return true;
    case Permission::review: return role == Role::reviewer || role == Role::admin;
    case Permission::operate: return role == Role::operator_ || role == Role::admin;
    case Permission::admin: return role == Role::admin;
  }
  return false;
}

std::vector<std::string> default_open_paths() {
  std::vector<std::string> paths = {"/health", "/ready", "/metrics"};
  for (std::string& p : docs_paths()) paths.push_back(std::move(p));
  return paths;
}

nlohmann::json Principal::actor() const {
  return {{"subject", subject}, {"role", to_string(role)}, {"token", token_id}};
}

std::string Authenticator::validate(const AuthConfig& config) {
  std::set<std::string> ids, hashes;
  for (const ApiToken& t : config.tokens) {
    if (t.id.empty() || t.subject.empty()) return "auth: every token needs an id and a subject";
    if (!ids.insert(t.id).second) return "auth: token id '" + t.id + "' is repeated";
    if (t.sha256.size() != 64 ||
        !std::all_of(t.sha256.begin(), t.sha256.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) ||
                                         (c >= 'a' && c <= 'f'); }))
      return "auth: token '" + t.id + "': sha256 must be 64 lowercase hex digits "
             "(orchestrator auth hash-token prints it)";
    if (!hashes.insert(t.sha256).second) return "auth: token '" + t.id + "' repeats a hash";
  }
  if (config.enabled && config.tokens.empty())
    return "authentication is on but no API tokens are configured: add auth.tokens to the "
           "config (see README, Authentication) or run with --no-auth";
  return "";
}

Authenticator::Authenticator(AuthConfig config) : config_(std::move(config)) {
  for (const ApiToken& t : config_.tokens) by_hash_.emplace(t.sha256, &t);
}

bool Authenticator::open(std::string_view path) const {
  return std::find(config_.open_paths.begin(), config_.open_paths.end(), path) !=
         config_.open_paths.end();
}

std::optional<Principal> Authenticator::authenticate(std::optional<std::string_view> header,
                                                     Failure* why) const {
  if (!header || header->empty()) {
    *why = Failure::missing;
    return std::nullopt;
  }
  std::string_view v = *header;
  constexpr std::string_view kScheme = "bearer ";
  if (v.size() <= kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), v.begin(),
                  [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
    *why = Failure::malformed;
    return std::nullopt;
  }
  v.remove_prefix(kScheme.size());
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty() || v.size() > 4096) {
    *why = Failure::malformed;
    return std::nullopt;
  }
  auto it = by_hash_.find(sha256_hex(v));
  if (it == by_hash_.end()) {
    *why = Failure::unknown;
    return std::nullopt;
  }
  *why = Failure::none;
  return Principal{it->second->subject, it->second->role, it->second->id};
}

}  // namespace orch::api
