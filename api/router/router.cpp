#include "api/router/router.h"

#include <chrono>
#include <memory>

#include "api/router/problem.h"
#include "api/router/replies.h"
#include "observability/metrics.h"

namespace orch::api {

using http::Request;
using http::Responder;
using http::Response;

namespace {

// The metrics' route label of a request whose path matches no route.
constexpr const char* kUnmatchedRoute = "unmatched";

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.push_back(http::percent_decode(path.substr(i, j - i)));
    i = j;
  }
  return parts;
}

// Whether `parts` (a path's percent-decoded segments) match `path_template`;
// the segments matched by "{name}" are appended to *params.
bool match_template(std::string_view path_template, const std::vector<std::string>& parts,
                    std::vector<std::string>* params) {
  std::size_t i = 0;
  while (!path_template.empty()) {
    path_template.remove_prefix(1);  // '/'
    const std::string_view segment = path_template.substr(0, path_template.find('/'));
    path_template.remove_prefix(segment.size());
    if (i >= parts.size()) return false;
    if (segment.front() == '{') params->push_back(parts[i]);
    else if (segment != parts[i]) return false;
    ++i;
  }
  return i == parts.size();
}

// What a request that matches no route needs: a read for GET and HEAD, an
// operator otherwise (it is answered 404 or 405 once admitted).
Permission default_permission(const std::string& method) {
  return method == "GET" || method == "HEAD" ? Permission::read : Permission::operate;
}

const char* permission_name(Permission p) {
  switch (p) {
    case Permission::open: return "nothing";
    case Permission::read: return "a viewer token";
    case Permission::review: return "a reviewer or admin token";
    case Permission::operate: return "an operator or admin token";
    case Permission::admin: return "an admin token";
  }
  return "an admin token";
}

Response method_not_allowed(const Request& r, const std::string& allow) {
  Response resp = problem(405, "method-not-allowed", "Method Not Allowed",
                          r.method + " is not allowed on " + std::string(r.path()),
                          std::string(r.path()));
  resp.headers.emplace_back("Allow", allow);
  return resp;
}

Response unauthenticated(const Request& r, Authenticator::Failure why) {
  Response resp = problem(
      401, "unauthenticated", "Unauthorized",
      why == Authenticator::Failure::missing
          ? "this endpoint needs an Authorization: Bearer <token> header"
      : why == Authenticator::Failure::malformed
          ? "the Authorization header must be 'Bearer <token>'"
          : "the bearer token is not one this server knows",
      std::string(r.path()));
  resp.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"campaign-orchestrator\"");
  return resp;
}

}  // namespace

Router::Router(std::vector<Route> routes, ApiContext& context, observability::Metrics& metrics,
               const Authenticator* auth)
    : routes_(std::move(routes)), context_(context), metrics_(metrics), auth_(auth) {}

void Router::handle(Request request, Responder respond) {
  auto started = std::chrono::steady_clock::now();
  auto route_name = std::make_shared<std::string>(kUnmatchedRoute);
  Responder timed = [this, respond = std::move(respond), started, route_name](Response r) {
    metrics_.http_request(*route_name, r.status,
                          std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                              .count());
    respond(std::move(r));
  };
  try {
    route(request, timed, route_name.get());
  } catch (const std::exception& e) {
    timed(problem(500, "internal", "Internal Error", "the request could not be handled",
                  std::string(request.path())));
  }
}

bool Router::admit(const Request& r, Permission need, std::optional<Principal>* who,
                   const Responder& respond) {
  if (!auth_ || !auth_->enabled() || auth_->open(r.path())) return true;
  Authenticator::Failure why = Authenticator::Failure::none;
  *who = auth_->authenticate(r.header("authorization"), &why);
  if (!*who) {
    metrics_.auth_failure(why == Authenticator::Failure::missing     ? "missing_token"
                          : why == Authenticator::Failure::malformed ? "malformed_token"
                                                                     : "unknown_token");
    respond(unauthenticated(r, why));
    return false;
  }
  if (role_allows((*who)->role, need)) return true;
  metrics_.auth_failure("forbidden_role");
  respond(problem(403, "forbidden-role", "Forbidden",
                  "role " + std::string(to_string((*who)->role)) + " of '" + (*who)->subject +
                      "' may not " + r.method + " " + std::string(r.path()) + " (needs " +
                      permission_name(need) + ")",
                  std::string(r.path())));
  return false;
}

void Router::route(const Request& r, const Responder& respond, std::string* name) {
  const auto parts = split_path(r.path());
  // The route of this method and path, or else every method of the path.
  const Route* found = nullptr;
  std::vector<std::string> params;
  std::string allow;
  for (const Route& candidate : routes_) {
    std::vector<std::string> matched;
    if (!match_template(candidate.info.path, parts, &matched)) continue;
    if (*name == kUnmatchedRoute) *name = std::string(candidate.info.path);
    if (candidate.info.method == r.method) {
      found = &candidate;
      *name = std::string(candidate.info.path);
      params = std::move(matched);
      break;
    }
    if (allow.find(candidate.info.method) == std::string::npos)
      allow += (allow.empty() ? "" : ", ") + std::string(candidate.info.method);
  }

  std::optional<Principal> principal;
  if (!admit(r, found ? found->info.permission : default_permission(r.method), &principal,
             respond))
    return;
  if (!found) {
    if (!allow.empty()) return respond(method_not_allowed(r, allow));
    return respond(not_found(r, "no route " + std::string(r.path())));
  }
  found->handler(context_, Call{r, params, principal ? &*principal : nullptr, respond});
}

}  // namespace orch::api
