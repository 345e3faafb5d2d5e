#include "adapters/http/problem_details.h"

#include <string>

#include "engine/json/json_text.h"

namespace orch::http {

namespace {

void member(std::string& out, std::string_view key, std::string_view text) {
  out += ",\"";
  out += key;
  out += "\":";
  append_json_string(out, text, InvalidUtf8::replace);
}

}  // namespace

Response problem_response(const ProblemDetails& problem) {
  std::string body;
  body.reserve(96 + problem.type.size() + problem.title.size() + problem.detail.size() +
               problem.instance.size());
  body += "{\"type\":";
  append_json_string(body, problem.type, InvalidUtf8::replace);
  member(body, "title", problem.title);
  body += ",\"status\":";
  append_json_integer(body, problem.status);
  member(body, "detail", problem.detail);
  if (!problem.instance.empty()) member(body, "instance", problem.instance);
  if (!problem.errors.empty()) {
    body += ",\"errors\":[";
    for (std::size_t i = 0; i < problem.errors.size(); ++i) {
      if (i > 0) body += ',';
      body += "{\"field\":";
      append_json_string(body, problem.errors[i].first, InvalidUtf8::replace);
      member(body, "message", problem.errors[i].second);
      body += '}';
    }
    body += ']';
  }
  body += '}';
  Response r;
  r.status = problem.status;
  r.headers.emplace_back("Content-Type", "application/problem+json");
  r.body = std::move(body);
  return r;
}

}  // namespace orch::http
