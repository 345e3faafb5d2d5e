#include "api/router/replies.h"

#include <algorithm>
#include <random>

#include "api/router/problem.h"
#include "engine/json/json_text.h"

namespace orch::api {

using http::Request;
using http::Responder;
using http::Response;
using nlohmann::json;

Response ok_json(int status, const json& body) { return Response::json(status, dump_json(body)); }

Response not_found(const Request& r, const std::string& detail) {
  return problem(404, "not-found", "Not Found", detail, std::string(r.path()));
}

Response invalid(const Request& r, const std::string& detail,
                 const std::vector<phases::FieldError>& errors) {
  return problem(422, "validation-error", "Invalid Request", detail, std::string(r.path()),
                 errors);
}

Response bad_query(const Request& r, const std::vector<phases::FieldError>& errors) {
  return problem(400, "bad-query", "Bad Query Parameters", "invalid query parameters",
                 std::string(r.path()), errors);
}

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

http::Response unavailable(const http::Request& request, const Status& s) {
  return problem(503, "journal-unavailable", "Service Unavailable", s.message(),
                 std::string(request.path()));
}

json actor_of(const Principal* who) { return who ? who->actor() : json(); }

std::string random_suffix() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  std::uint64_t r = rng();
  for (int i = 0; i < 12; ++i, r >>= 4) out.push_back(kHex[r & 0xF]);
  return out;
}

}  // namespace orch::api
