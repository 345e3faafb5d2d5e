#include "api/router/routes.h"

#include "engine/time/time_format.h"

#include <chrono>
#include <random>

#include "api/router/api_docs.h"
#include "api/router/problem.h"
#include "api/router/request_body.h"
#include "phases/campaign/campaign_definition.h"
#include "phases/campaign/campaign_input.h"
#include "engine/json/json_text.h"

namespace orch::api {

using http::Request;
using http::Responder;
using http::Response;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxPageSize = 100;
constexpr std::size_t kDefaultPageSize = 20;
constexpr std::size_t kMaxHistoryPageSize = 1000;
// A history page ends early, saying so, once its records' payloads reach
// this many bytes: 1,000 records of 20 KB signals were 20 MB a page.
constexpr std::size_t kMaxHistoryPageBytes = 1 << 20;
constexpr std::size_t kMaxCorruptListed = 20;  // ids /ready names
constexpr std::size_t kCommentMax = 2000;
constexpr std::size_t kContentMax = 20000;
constexpr std::size_t kDefaultWaitMs = 30'000;  // progress long poll
constexpr std::size_t kMaxWaitMs = 60'000;
// The metrics' route label of a request whose path matches no route.
constexpr const char* kUnmatchedRoute = "unmatched";

Response ok_json(int status, const json& body) { return Response::json(status, dump_json(body)); }

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

Response method_not_allowed(const Request& r, const std::string& allow) {
  Response resp = problem(405, "method-not-allowed", "Method Not Allowed",
                          r.method + " is not allowed on " + std::string(r.path()),
                          std::string(r.path()));
  resp.headers.emplace_back("Allow", allow);
  return resp;
}

Response not_found(const Request& r, const std::string& detail) {
  return problem(404, "not-found", "Not Found", detail, std::string(r.path()));
}

// Why a query of one workflow found nothing to show.
Response query_problem(const std::string& instance, const engine::QueryResult& result) {
  switch (result.code) {
    case engine::QueryCode::damaged:
      return problem(500, "workflow-damaged", "Workflow Damaged",
                     result.detail + "; the workflow is quarantined (GET /v1/workflows?status=corrupt)",
                     instance);
    case engine::QueryCode::unavailable:
      return problem(503, "journal-unavailable", "Service Unavailable", result.detail, instance);
    case engine::QueryCode::not_found:
    case engine::QueryCode::found:
      break;
  }
  return problem(404, "workflow-not-found", "Workflow Not Found", result.detail, instance);
}

// 200 with the view, or the problem.
Response query_answer(const Request& r, const engine::QueryResult& result) {
  if (result.found()) return ok_json(200, result.body);
  return query_problem(std::string(r.path()), result);
}

Response invalid(const Request& r, const std::string& detail,
                 const std::vector<phases::FieldError>& errors) {
  return problem(422, "validation-error", "Invalid Request", detail, std::string(r.path()),
                 errors);
}

// Parses a positive integer query parameter within [1, max].
bool query_number(const Request& r, const char* name, std::size_t fallback, std::size_t max,
                  std::size_t* out, std::vector<phases::FieldError>* errors) {
  auto v = r.query_param(name);
  if (!v) {
    *out = fallback;
    return true;
  }
  if (v->empty() || v->size() > 9 ||
      !std::all_of(v->begin(), v->end(), [](unsigned char c) { return std::isdigit(c); })) {
    errors->push_back({name, "must be a positive integer"});
    return false;
  }
  std::size_t n = std::stoul(*v);
  if (n < 1 || n > max) {
    errors->push_back({name, "must be between 1 and " + std::to_string(max)});
    return false;
  }
  *out = n;
  return true;
}

// Rejects query parameters other than `allowed`.
void check_query_names(const Request& r, const std::set<std::string>& allowed,
                       std::vector<phases::FieldError>* errors) {
  std::string_view t(r.target);
  auto q = t.find('?');
  if (q == std::string_view::npos) return;
  std::string_view rest = t.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    std::string key = http::percent_decode(pair.substr(0, pair.find('=')));
    if (!key.empty() && !allowed.count(key)) errors->push_back({key, "is not a known parameter"});
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
}

Response signal_problem(const Request& r, const engine::SignalResult& result) {
  const std::string instance(r.path());
  switch (result.code) {
    case engine::SignalCode::not_found:
      return problem(404, "workflow-not-found", "Workflow Not Found", result.detail, instance);
    case engine::SignalCode::unknown_signal:
      return problem(404, "unknown-signal", "Unknown Signal", result.detail, instance);
    case engine::SignalCode::conflict:
      return problem(409, "wrong-state", "Conflict", result.detail, instance);
    case engine::SignalCode::forbidden:
      return problem(403, "reviewer-not-allowed", "Forbidden", result.detail, instance);
    case engine::SignalCode::invalid:
      return problem(422, "validation-error", "Invalid Request", result.detail, instance);
    case engine::SignalCode::unavailable:
      return problem(503, "journal-unavailable", "Service Unavailable", result.detail, instance);
    case engine::SignalCode::key_reused:
      return problem(409, "idempotency-key-reused", "Conflict", result.detail, instance);
    case engine::SignalCode::damaged:
      return query_problem(instance, {engine::QueryCode::damaged, nullptr, result.detail});
    case engine::SignalCode::too_large:
      return problem(413, "payload-too-large", "Payload Too Large", result.detail, instance);
    case engine::SignalCode::accepted:
    case engine::SignalCode::duplicate:
      break;
  }
  return problem(500, "internal", "Internal Error", "unexpected signal result", instance);
}

const std::set<std::string> kStatuses = {"running",   "awaiting_approval", "paused", "compensating",
                                         "completed", "failed",            "cancelled", "corrupt"};
const std::set<std::string> kPhases = {"research", "content",      "design",
                                       "review",   "distribution", "analytics"};

std::string random_suffix() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  std::uint64_t r = rng();
  for (int i = 0; i < 12; ++i, r >>= 4) out.push_back(kHex[r & 0xF]);
  return out;
}

// What a request that matches no route needs: a read for GET and HEAD, an
// operator otherwise (it is answered 404 or 405 once admitted).
Permission default_permission(const std::string& method) {
  return method == "GET" || method == "HEAD" ? Permission::read : Permission::operate;
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

// With authentication on, `field` of a body names the acting identity: it
// must be absent or the token's subject, and becomes the token's subject.
bool bind_identity(json& body, const char* field, const Principal* who, const Request& r,
                   const Responder& respond) {
  if (!who) return true;
  if (body.contains(field) &&
      (!body[field].is_string() || body[field].get<std::string>() != who->subject)) {
    respond(problem(403, "identity-mismatch", "Forbidden",
                    std::string(field) + " must be the token's own identity '" + who->subject +
                        "' (or left out)",
                    std::string(r.path())));
    return false;
  }
  body[field] = who->subject;
  return true;
}

json actor_of(const Principal* who) { return who ? who->actor() : json(); }

}  // namespace

ApiRoutes::ApiRoutes(engine::WorkflowEngine& engine, engine::JournalStore& store,
                     observability::Metrics& metrics, engine::Clock& clock,
                     adapters::ServiceGuards* guards, const Authenticator* auth)
    : engine_(engine), store_(store), metrics_(metrics), clock_(clock), guards_(guards),
      auth_(auth) {}

bool ApiRoutes::admit(const Request& r, Permission need, std::optional<Principal>* who,
                      const Responder& respond) {
  if (!auth_ || !auth_->enabled() || auth_->open(r.path())) return true;
  Authenticator::Failure why = Authenticator::Failure::none;
  *who = auth_->authenticate(r.header("authorization"), &why);
  if (!*who) {
    const char* reason = why == Authenticator::Failure::missing     ? "missing_token"
                         : why == Authenticator::Failure::malformed ? "malformed_token"
                                                                    : "unknown_token";
    metrics_.auth_failure(reason);
    Response resp = problem(
        401, "unauthenticated", "Unauthorized",
        why == Authenticator::Failure::missing
            ? "this endpoint needs an Authorization: Bearer <token> header"
        : why == Authenticator::Failure::malformed
            ? "the Authorization header must be 'Bearer <token>'"
            : "the bearer token is not one this server knows",
        std::string(r.path()));
    resp.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"campaign-orchestrator\"");
    respond(std::move(resp));
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

void ApiRoutes::handle(Request request, Responder respond) {
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

const std::vector<ApiRoutes::Route>& ApiRoutes::routes() {
  using P = Permission;
  static const std::vector<Route> kRoutes = {
      {{"GET", "/health", P::read},
       [](ApiRoutes&, const Call& c) { c.respond(ok_json(200, {{"status", "ok"}})); }},
      {{"GET", "/ready", P::read}, [](ApiRoutes& self, const Call& c) { self.get_ready(c); }},
      {{"GET", "/metrics", P::read},
       [](ApiRoutes& self, const Call& c) {
         Response resp;
         resp.status = 200;
         resp.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
         resp.body = self.metrics_.serialize();
         c.respond(std::move(resp));
       }},
      {{"GET", "/openapi.json", P::read},
       [](ApiRoutes&, const Call& c) { c.respond(openapi_document()); }},
      {{"GET", "/docs", P::read}, [](ApiRoutes&, const Call& c) { c.respond(docs_page()); }},
      {{"GET", "/docs/{asset}", P::read},
       [](ApiRoutes&, const Call& c) {
         auto asset = docs_asset(c.params[0]);
         c.respond(asset ? std::move(*asset)
                         : not_found(c.request, "no documentation file " + c.params[0]));
       }},
      {{"GET", "/v1/adapters", P::read},
       [](ApiRoutes& self, const Call& c) {
         c.respond(ok_json(200, {{"data", self.guards_ ? self.guards_->describe() : json::array()}}));
       }},
      {{"POST", "/v1/adapters/{service}/breaker", P::admin},
       [](ApiRoutes& self, const Call& c) { self.post_breaker(c); }},
      {{"POST", "/v1/campaigns", P::operate},
       [](ApiRoutes& self, const Call& c) { self.start_campaign(c.request, c.who, c.respond); }},
      {{"POST", "/v1/wizards", P::operate},
       [](ApiRoutes& self, const Call& c) { self.save_wizard(c.request, c.who, c.respond); }},
      {{"POST", "/v1/wizards/{id}/approve", P::operate},
       [](ApiRoutes& self, const Call& c) {
         self.approve_wizard(c.request, c.params[0], c.who, c.respond);
       }},
      {{"GET", "/v1/workflows", P::read},
       [](ApiRoutes& self, const Call& c) { self.list_workflows(c.request, c.respond); }},
      {{"GET", "/v1/workflows/{id}", P::read},
       [](ApiRoutes& self, const Call& c) {
         c.respond(query_answer(c.request, self.engine_.describe(c.params[0])));
       }},
      {{"GET", "/v1/workflows/{id}/progress", P::read},
       [](ApiRoutes& self, const Call& c) { self.get_progress(c); }},
      {{"GET", "/v1/workflows/{id}/history", P::read},
       [](ApiRoutes& self, const Call& c) { self.get_history(c.request, c.params[0], c.respond); }},
      {{"GET", "/v1/workflows/{id}/approvals", P::read},
       [](ApiRoutes& self, const Call& c) {
         c.respond(query_answer(c.request, self.engine_.approvals(c.params[0])));
       }},
      {{"POST", "/v1/workflows/{id}/signals/approve", P::review},
       [](ApiRoutes& self, const Call& c) {
         self.post_signal(c.request, c.params[0], "approve", c.who, c.respond);
       }},
      {{"POST", "/v1/workflows/{id}/signals/reject", P::review},
       [](ApiRoutes& self, const Call& c) {
         self.post_signal(c.request, c.params[0], "reject", c.who, c.respond);
       }},
      {{"POST", "/v1/workflows/{id}/signals/update_content", P::operate},
       [](ApiRoutes& self, const Call& c) {
         self.post_signal(c.request, c.params[0], "update_content", c.who, c.respond);
       }},
      {{"POST", "/v1/workflows/{id}/updates/approve", P::review},
       [](ApiRoutes& self, const Call& c) {
         self.post_update(c.request, c.params[0], "approve", c.who, c.respond);
       }},
      {{"POST", "/v1/workflows/{id}/updates/reject", P::review},
       [](ApiRoutes& self, const Call& c) {
         self.post_update(c.request, c.params[0], "reject", c.who, c.respond);
       }},
      {{"POST", "/v1/workflows/{id}/updates/update_content", P::operate},
       [](ApiRoutes& self, const Call& c) {
         self.post_update(c.request, c.params[0], "update_content", c.who, c.respond);
       }},
      {{"POST", "/v1/workflows/{id}/cancel", P::operate},
       [](ApiRoutes& self, const Call& c) {
         self.post_cancel(c.request, c.params[0], c.who, c.respond);
       }},
      {{"POST", "/v1/workflows/{id}/pause", P::operate},
       [](ApiRoutes& self, const Call& c) {
         self.post_hold(c.request, c.params[0], true, c.who, c.respond);
       }},
      {{"POST", "/v1/workflows/{id}/resume", P::operate},
       [](ApiRoutes& self, const Call& c) {
         self.post_hold(c.request, c.params[0], false, c.who, c.respond);
       }},
      {{"POST", "/v1/workflows/{id}/retry", P::operate},
       [](ApiRoutes& self, const Call& c) { self.post_retry(c); }},
  };
  return kRoutes;
}

std::vector<RouteInfo> ApiRoutes::table() {
  std::vector<RouteInfo> out;
  for (const Route& route : routes()) out.push_back(route.info);
  return out;
}

void ApiRoutes::route(const Request& r, const Responder& respond, std::string* name) {
  const auto parts = split_path(r.path());
  // The route of this method and path, or else every method of the path.
  const Route* found = nullptr;
  std::vector<std::string> params;
  std::string allow;
  for (const Route& candidate : routes()) {
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

  // Authentication first: an unknown path answers 401 to a stranger, not 404.
  std::optional<Principal> principal;
  if (!admit(r, found ? found->info.permission : default_permission(r.method), &principal,
             respond))
    return;
  if (!found) {
    if (!allow.empty()) return respond(method_not_allowed(r, allow));
    return respond(not_found(r, "no route " + std::string(r.path())));
  }
  found->handler(*this, Call{r, params, principal ? &*principal : nullptr, respond});
}

void ApiRoutes::get_ready(const Call& c) {
  std::string body;
  bool found = false;
  Status s = store_.get_draft("__readiness_probe__", &body, &found);
  if (!s) return c.respond(problem(503, "not-ready", "Not Ready", "store unreachable: " + s.message()));
  // Quarantined workflows are listed, not a reason to stop serving the
  // others: the node stays ready.
  c.respond(ok_json(200, {{"status", "ready"},
                          {"active_workflows", engine_.active_count()},
                          {"resident_workflows", engine_.resident_count()},
                          {"known_workflows", engine_.known_count()},
                          {"corrupt_workflows", engine_.damaged_count()},
                          {"corrupt_workflow_ids", engine_.damaged_ids(kMaxCorruptListed)}}));
}

// Long poll: ?wait_for=STATUS[,STATUS...]&wait_ms=N answers as soon as the
// status is one of those, or after N ms (at most kMaxWaitMs) as it is.
void ApiRoutes::get_progress(const Call& c) {
  const Request& r = c.request;
  const std::string& id = c.params[0];
  auto wait_for = r.query_param("wait_for");
  if (!wait_for) return c.respond(query_answer(r, engine_.progress(id)));
  std::vector<phases::FieldError> errors;
  std::vector<std::string> statuses;
  std::string_view list(*wait_for);
  while (!list.empty()) {
    const std::string status(list.substr(0, list.find(',')));
    if (!kStatuses.count(status)) errors.push_back({"wait_for", "unknown status " + status});
    statuses.push_back(status);
    list.remove_prefix(std::min(list.size(), status.size() + 1));
  }
  std::size_t wait_ms = 0;
  query_number(r, "wait_ms", kDefaultWaitMs, kMaxWaitMs, &wait_ms, &errors);
  if (!errors.empty()) return c.respond(invalid(r, "invalid long poll", errors));
  engine_.await_status(id, std::move(statuses), std::chrono::milliseconds(wait_ms),
                       [respond = c.respond, path = std::string(r.path())](engine::QueryResult p) {
                         if (!p.found()) return respond(query_problem(path, p));
                         respond(ok_json(200, p.body));
                       });
}

void ApiRoutes::post_breaker(const Call& c) {
  const Request& r = c.request;
  adapters::ServiceGuard* guard = guards_ ? guards_->find(c.params[0]) : nullptr;
  if (!guard) return c.respond(not_found(r, "no adapter service " + c.params[0]));
  Response error;
  auto body = parse_object(r, false, &error);
  if (!body) return c.respond(std::move(error));
  auto errors = check_string_fields(*body, {{"state", true, 32}});
  const std::string state = body->value("state", "");
  static const std::map<std::string, resilience::BreakerState> kStates = {
      {"forced_open", resilience::BreakerState::forced_open},
      {"disabled", resilience::BreakerState::disabled},
      {"closed", resilience::BreakerState::closed}};
  if (errors.empty() && !kStates.count(state))
    errors.push_back({"state", "must be forced_open, disabled or closed"});
  if (!errors.empty()) return c.respond(invalid(r, "invalid breaker command", errors));
  guard->breaker().force(kStates.at(state));
  c.respond(ok_json(200, guard->describe()));
}

void ApiRoutes::post_retry(const Call& c) {
  Response error;
  auto body = parse_object(c.request, true, &error);
  if (!body) return c.respond(std::move(error));
  auto errors = check_string_fields(*body, {{"reason", false, kCommentMax}});
  if (!errors.empty()) return c.respond(invalid(c.request, "invalid retry request", errors));
  engine_.redrive(c.params[0], body->value("reason", "redriven by an operator"),
                  [respond = c.respond, r = c.request](engine::SignalResult result) {
                    if (result.code == engine::SignalCode::accepted)
                      return respond(ok_json(202, {{"status", "retrying"}}));
                    respond(signal_problem(r, result));
                  });
}

void ApiRoutes::start_campaign(const Request& r, const Principal* who, const Responder& respond) {
  Response error;
  auto body = parse_object(r, false, &error);
  if (!body) return respond(std::move(error));
  std::string key;
  if (!read_idempotency_key(r, &key, &error)) return respond(std::move(error));
  auto errors = phases::validate_campaign_input(*body);
  if (!errors.empty())
    return respond(invalid(r, "the CampaignInput is invalid", errors));
  if (!bind_identity(*body, "submitted_by", who, r, respond)) return;
  start_with_input(std::move(*body), std::move(key),
                   std::string(r.header("traceparent").value_or("")), std::string(r.path()),
                   actor_of(who), respond);
}

void ApiRoutes::start_with_input(json input, std::string idempotency_key, std::string traceparent,
                                 std::string instance, json actor, const Responder& respond) {
  engine::StartRequest req;
  req.definition = phases::kCampaignWorkflow;
  req.workflow_id = input.value("workflow_id", "");
  if (req.workflow_id.empty())
    req.workflow_id =
        phases::campaign_workflow_id(input.value("campaign_name", ""), random_suffix());
  req.idempotency_key = std::move(idempotency_key);
  req.traceparent = std::move(traceparent);
  req.input = std::move(input);
  req.actor = std::move(actor);
  engine_.start(std::move(req), [respond, instance](engine::StartResult result) {
    switch (result.code) {
      case engine::StartCode::created:
      case engine::StartCode::existing: {
        Response resp = ok_json(result.code == engine::StartCode::created ? 201 : 200,
                                {{"workflow_id", result.workflow_id},
                                 {"run_id", result.run_id},
                                 {"status", result.status}});
        resp.headers.emplace_back("Location", "/v1/workflows/" + result.workflow_id);
        return respond(std::move(resp));
      }
      case engine::StartCode::conflict:
        return respond(problem(409, "workflow-exists", "Conflict", result.detail, instance));
      case engine::StartCode::invalid:
        return respond(problem(422, "validation-error", "Invalid Request", result.detail,
                               instance));
    }
  });
}

void ApiRoutes::save_wizard(const Request& r, const Principal* who, const Responder& respond) {
  Response error;
  auto body = parse_object(r, false, &error);
  if (!body) return respond(std::move(error));
  auto errors = phases::validate_campaign_input(*body);
  if (!errors.empty()) return respond(invalid(r, "the CampaignInput draft is invalid", errors));
  if (!bind_identity(*body, "submitted_by", who, r, respond)) return;
  const std::string id = "wiz-" + random_suffix() + std::to_string(++draft_counter_);
  if (Status s = store_.put_draft(id, body->dump(), clock_.now_ms()); !s)
    return respond(problem(503, "store-unavailable", "Service Unavailable",
                           "the draft could not be saved", std::string(r.path())));
  respond(ok_json(201, {{"wizard_id", id}, {"status", "draft"}, {"input", *body}}));
}

void ApiRoutes::approve_wizard(const Request& r, const std::string& id, const Principal* who,
                               const Responder& respond) {
  Response error;
  auto body = parse_object(r, true, &error);
  if (!body) return respond(std::move(error));
  if (!body->empty())
    return respond(invalid(r, "approving a wizard takes no body", {{"", "must be empty"}}));
  std::string text;
  bool found = false;
  if (Status s = store_.get_draft(id, &text, &found); !s)
    return respond(problem(503, "store-unavailable", "Service Unavailable", s.message(),
                           std::string(r.path())));
  if (!found) return respond(not_found(r, "no wizard draft " + id));
  json input = json::parse(text, nullptr, false);
  if (!input.is_object()) return respond(problem(500, "internal", "Internal Error", "bad draft"));
  if (!input.contains("workflow_id")) input["workflow_id"] = phases::campaign_workflow_id(
      input.value("campaign_name", ""), id.substr(4));
  // Approving twice returns the same workflow (its id derives from the draft).
  start_with_input(std::move(input), "", std::string(r.header("traceparent").value_or("")),
                   std::string(r.path()), actor_of(who), [respond](Response resp) {
                     if (resp.status == 200) resp.status = 201;
                     respond(std::move(resp));
                   });
}

void ApiRoutes::list_workflows(const Request& r, const Responder& respond) {
  std::vector<phases::FieldError> errors;
  check_query_names(r, {"status", "phase", "page", "page_size"}, &errors);
  engine::ListQuery q;
  query_number(r, "page", 1, 1'000'000, &q.page, &errors);
  query_number(r, "page_size", kDefaultPageSize, kMaxPageSize, &q.page_size, &errors);
  if (auto s = r.query_param("status")) {
    if (!kStatuses.count(*s)) errors.push_back({"status", "must be one of the workflow statuses"});
    q.status = *s;
  }
  if (auto p = r.query_param("phase")) {
    if (!kPhases.count(*p)) errors.push_back({"phase", "must be one of the campaign phases"});
    q.phase = *p;
  }
  if (!errors.empty())
    return respond(problem(400, "bad-query", "Bad Query Parameters", "invalid query parameters",
                           std::string(r.path()), errors));
  engine::ListPage page = engine_.list(q);
  json data = json::array();
  for (const auto& row : page.rows)
    data.push_back({{"workflow_id", row.workflow_id},
                    {"run_id", row.run_id},
                    {"workflow", row.definition},
                    {"status", row.status},
                    {"current_phase", row.phase},
                    {"created_at", engine::format_time(row.created_ms)},
                    {"updated_at", engine::format_time(row.updated_ms)}});
  const std::size_t pages = (page.total_count + q.page_size - 1) / q.page_size;
  respond(ok_json(200, {{"data", std::move(data)},
                        {"pagination",
                         {{"page", q.page},
                          {"page_size", q.page_size},
                          {"total_count", page.total_count},
                          {"total_pages", pages}}}}));
}

// Pages by number (`page`, from 1) or from a cursor (`cursor`: the
// `next_cursor` of the page before). A page holds at most page_size records
// and ends early, with `byte_limited: true`, past kMaxHistoryPageBytes of
// payload; `next_cursor` then (and whenever records follow) says where the
// rest starts.
void ApiRoutes::get_history(const Request& r, const std::string& id, const Responder& respond) {
  std::vector<phases::FieldError> errors;
  check_query_names(r, {"page", "page_size", "cursor"}, &errors);
  std::size_t page = 1, page_size = 100, cursor = 0;
  query_number(r, "page", 1, 1'000'000, &page, &errors);
  query_number(r, "page_size", 100, kMaxHistoryPageSize, &page_size, &errors);
  query_number(r, "cursor", 0, 1'000'000'000, &cursor, &errors);
  if (r.query_param("page") && r.query_param("cursor"))
    errors.push_back({"cursor", "cannot be combined with page"});
  if (!errors.empty())
    return respond(problem(400, "bad-query", "Bad Query Parameters", "invalid query parameters",
                           std::string(r.path()), errors));
  const std::uint64_t from = cursor ? cursor : (page - 1) * page_size + 1;
  engine::QueryResult h = engine_.history(id, from, page_size, kMaxHistoryPageBytes);
  if (!h.found()) return respond(query_problem(std::string(r.path()), h));
  const std::uint64_t total = h.body["total"].get<std::uint64_t>();
  json pagination = {{"page_size", page_size},
                     {"total_count", total},
                     {"byte_limited", h.body["byte_limited"]}};
  if (!cursor) {
    pagination["page"] = page;
    pagination["total_pages"] = (total + page_size - 1) / page_size;
  }
  if (const std::uint64_t next = h.body["next_seq"].get<std::uint64_t>())
    pagination["next_cursor"] = std::to_string(next);
  respond(ok_json(200, {{"workflow_id", id},
                        {"data", std::move(h.body["records"])},
                        {"pagination", std::move(pagination)}}));
}

// The body schema of a human action; with authentication on the reviewer
// comes from the token, so the body may leave it out.
static std::vector<StringField> action_schema(const std::string& name, bool authenticated) {
  const bool need_reviewer = !authenticated;
  if (name == "approve") return {{"reviewer", need_reviewer, 200}, {"comment", false, kCommentMax}};
  if (name == "reject") return {{"reviewer", need_reviewer, 200}, {"reason", true, kCommentMax}};
  if (name == "update_content")
    return {{"content_id", true, 100}, {"new_content", true, kContentMax}};
  return {};
}

void ApiRoutes::post_signal(const Request& r, const std::string& id, const std::string& name,
                            const Principal* who, const Responder& respond) {
  std::vector<StringField> schema = action_schema(name, who != nullptr);
  Response error;
  auto body = parse_object(r, false, &error);
  if (!body) return respond(std::move(error));
  std::string key;
  if (!read_idempotency_key(r, &key, &error)) return respond(std::move(error));
  if (!key.empty()) key = "signal:" + key;
  auto errors = check_string_fields(*body, schema);
  if (!errors.empty()) return respond(invalid(r, "invalid " + name + " signal", errors));
  if (name != "update_content" && !bind_identity(*body, "reviewer", who, r, respond)) return;
  if (who) (*body)["actor"] = who->actor();
  const std::string ack = name == "update_content" ? "content_updated" : "signal_sent";
  engine_.signal(id, name, std::move(*body), key,
                 [respond, r, ack](engine::SignalResult result) {
                   if (result.code == engine::SignalCode::accepted ||
                       result.code == engine::SignalCode::duplicate)
                     return respond(ok_json(202, {{"status", ack}}));
                   respond(signal_problem(r, result));
                 });
}

// Updates: the validator runs first (here and in the engine) and a refusal
// journals nothing; an accepted update answers with the new state once it is
// durable.
void ApiRoutes::post_update(const Request& r, const std::string& id, const std::string& name,
                            const Principal* who, const Responder& respond) {
  std::vector<StringField> schema = action_schema(name, who != nullptr);
  Response error;
  auto body = parse_object(r, false, &error);
  if (!body) {
    // An update's unreadable body is a 422 (CONTRACT.md), with a matching
    // problem document; other parse errors (415) pass through.
    if (error.status != 400) return respond(std::move(error));
    return respond(problem(422, "malformed-body", "Invalid Request",
                           "the " + name + " update needs a JSON object body",
                           std::string(r.path())));
  }
  auto errors = check_string_fields(*body, schema);
  if (!errors.empty()) return respond(invalid(r, "invalid " + name + " update", errors));
  const std::string instance(r.path());
  if (const std::string* why = engine_.damage(id))
    return respond(query_problem(instance, {engine::QueryCode::damaged, nullptr, *why}));
  const engine::WorkflowSummary* summary = engine_.summary(id);
  if (!summary)
    return respond(query_problem(instance, {engine::QueryCode::not_found, nullptr, "no workflow " + id}));
  if (name != "update_content" && summary->status != "awaiting_approval")
    return respond(problem(409, "not-awaiting-review", "Conflict",
                           "workflow " + id + " is " + summary->status + ", not awaiting approval",
                           std::string(r.path())));
  if (name != "update_content" && !bind_identity(*body, "reviewer", who, r, respond)) return;
  if (who) (*body)["actor"] = who->actor();
  engine_.signal(id, name, std::move(*body), "", [this, respond, r, id](engine::SignalResult res) {
    if (res.code != engine::SignalCode::accepted) return respond(signal_problem(r, res));
    engine::QueryResult approvals = engine_.approvals(id);
    respond(ok_json(200, approvals.found() ? approvals.body : json::object()));
  });
}

void ApiRoutes::post_cancel(const Request& r, const std::string& id, const Principal* who,
                            const Responder& respond) {
  Response error;
  auto body = parse_object(r, true, &error);
  if (!body) return respond(std::move(error));
  auto errors = check_string_fields(*body, {{"reason", false, kCommentMax}});
  if (!errors.empty()) return respond(invalid(r, "invalid cancel request", errors));
  engine_.cancel(id, body->value("reason", "cancelled by request"), actor_of(who),
                 [respond, r](engine::SignalResult result) {
                   if (result.code == engine::SignalCode::accepted)
                     return respond(ok_json(202, {{"status", "cancelling"}}));
                   respond(signal_problem(r, result));
                 });
}

void ApiRoutes::post_hold(const Request& r, const std::string& id, bool pause,
                          const Principal* who, const Responder& respond) {
  Response error;
  auto body = parse_object(r, true, &error);
  if (!body) return respond(std::move(error));
  auto errors = check_string_fields(*body, {{"reason", false, kCommentMax}});
  if (!errors.empty())
    return respond(invalid(r, std::string("invalid ") + (pause ? "pause" : "resume") + " request",
                           errors));
  const std::string reason =
      body->value("reason", pause ? "paused by an operator" : "resumed by an operator");
  engine_.hold(id, pause, reason, actor_of(who),
               [respond, r, pause](engine::SignalResult result) {
                 if (result.code == engine::SignalCode::accepted)
                   return respond(ok_json(202, {{"status", pause ? "paused" : "resuming"}}));
                 respond(signal_problem(r, result));
               });
}

}  // namespace orch::api
