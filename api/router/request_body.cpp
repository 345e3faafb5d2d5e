#include "api/router/request_body.h"

#include <algorithm>
#include <cctype>

#include "api/router/problem.h"
#include "engine/json/json_read.h"

namespace orch::api {

namespace {
// Rejects nesting deeper than kMaxJsonDepth before the parser sees it, so no
// body can drive a recursive walk (dump, destructor) into a stack overflow.
bool too_deep(const std::string& text) {
  std::size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) return true;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return false;
}
}  // namespace

std::optional<nlohmann::json> parse_object(const http::Request& request, bool allow_empty,
                                           http::Response* error) {
  auto body = parse_json_body(request, allow_empty, error);
  if (body && !body->is_object()) {
    *error = problem(400, "malformed-body", "Malformed Request Body",
                     "the body must be a JSON object", std::string(request.path()));
    return std::nullopt;
  }
  return body;
}

std::optional<nlohmann::json> parse_json_body(const http::Request& request, bool allow_empty,
                                              http::Response* error) {
  if (auto ct = request.header("Content-Type"); ct && !request.body.empty()) {
    std::string lower(*ct);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower.find("application/json") != 0 && lower.find("+json") == std::string::npos) {
      *error = problem(415, "unsupported-media-type", "Unsupported Media Type",
                       "the body must be application/json", std::string(request.path()));
      return std::nullopt;
    }
  }
  const bool blank = std::all_of(request.body.begin(), request.body.end(),
                                 [](unsigned char c) { return std::isspace(c); });
  if (blank) {
    if (allow_empty) return nlohmann::json::object();
    *error = problem(400, "malformed-body", "Malformed Request Body",
                     "a JSON object body is required", std::string(request.path()));
    return std::nullopt;
  }
  if (too_deep(request.body)) {
    *error = problem(400, "malformed-body", "Malformed Request Body",
                     "JSON nesting deeper than " + std::to_string(kMaxJsonDepth),
                     std::string(request.path()));
    return std::nullopt;
  }
  nlohmann::json body;
  if (!parse_json(request.body, body)) {
    *error = problem(400, "malformed-body", "Malformed Request Body",
                     "the body is not valid JSON", std::string(request.path()));
    return std::nullopt;
  }
  return body;
}

std::vector<phases::FieldError> check_string_fields(const nlohmann::json& body,
                                                    const std::vector<StringField>& fields) {
  std::vector<phases::FieldError> errors;
  for (const auto& item : body.items()) {
    const std::string& key = item.key();
    if (std::none_of(fields.begin(), fields.end(),
                     [&](const StringField& f) { return f.name == key; }))
      errors.push_back({key, "is not a known field"});
  }
  for (const StringField& f : fields) {
    if (!body.contains(f.name)) {
      if (f.required) errors.push_back({f.name, "is required"});
      continue;
    }
    const auto& v = body[f.name];
    if (!v.is_string()) {
      errors.push_back({f.name, "must be a string"});
      continue;
    }
    const std::string& s = v.get_ref<const std::string&>();
    if (f.required && std::all_of(s.begin(), s.end(),
                                  [](unsigned char c) { return std::isspace(c); }))
      errors.push_back({f.name, "must not be empty"});
    else if (s.size() > f.max_length)
      errors.push_back({f.name, "is longer than " + std::to_string(f.max_length)});
  }
  return errors;
}

bool read_idempotency_key(const http::Request& request, std::string* key,
                          http::Response* error) {
  key->clear();
  auto k = request.header("Idempotency-Key");
  if (!k) return true;
  const bool valid = !k->empty() && k->size() <= 200 &&
                     std::all_of(k->begin(), k->end(),
                                 [](unsigned char c) { return c > 0x20 && c < 0x7f; });
  if (!valid) {
    *error = problem(400, "bad-header", "Bad Header",
                     "Idempotency-Key must be 1-200 visible ASCII characters",
                     std::string(request.path()));
    return false;
  }
  *key = std::string(*k);
  return true;
}

}  // namespace orch::api
