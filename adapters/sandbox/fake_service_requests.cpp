// The fake services' requests and answers: percent-decoded paths, form
// bodies, the fields of a Call, JSON answers and problem+json errors.
#include <string>
#include <string_view>
#include <vector>

#include "adapters/sandbox/sandbox_state.h"
#include "engine/json/json_text.h"

namespace orch::sandbox {

using nlohmann::json;
using http::Response;

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const char* reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
  }
}

}  // namespace

std::string path_decode(std::string_view in) {
  if (in.find('%') == std::string_view::npos) return std::string(in);
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() &&
        hex_digit(in[i + 1]) >= 0 && hex_digit(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(in[i + 1]) * 16 + hex_digit(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    if (i >= path.size()) break;
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path_decode(path.substr(i, j - i)));
    i = j;
  }
  return out;
}

FormFields parse_form(std::string_view body) {
  FormFields out;
  while (!body.empty()) {
    auto amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      if (eq == std::string_view::npos) {
        out.emplace_back(http::percent_decode(pair), std::string());
      } else {
        out.emplace_back(http::percent_decode(pair.substr(0, eq)),
                         http::percent_decode(pair.substr(eq + 1)));
      }
    }
    if (amp == std::string_view::npos) break;
    body = body.substr(amp + 1);
  }
  return out;
}

Response json_response(int status, const json& body) {
  return Response::json(status, dump_json(body));
}

Response problem(int status, std::string_view detail) {
  json j = {{"type", "about:blank"},
            {"title", reason(status)},
            {"status", status},
            {"detail", std::string(detail)}};
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/problem+json");
  r.body = dump_json(j);
  return r;
}

std::optional<std::string> Call::field(std::string_view name) const {
  if (is_form) {
    for (const auto& [k, v] : form)
      if (k == name) return v;
    return std::nullopt;
  }
  if (!body.is_object()) return std::nullopt;
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number() || it->is_boolean()) return it->dump();
  return std::nullopt;
}

std::vector<std::string> Call::fields(std::string_view name) const {
  std::vector<std::string> out;
  if (is_form) {
    for (const auto& [k, v] : form)
      if (k == name) out.push_back(v);
    return out;
  }
  if (!body.is_object()) return out;
  auto it = body.find(name);
  if (it == body.end()) return out;
  if (it->is_string()) {
    out.push_back(it->get<std::string>());
  } else if (it->is_array()) {
    for (const auto& v : *it)
      if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace orch::sandbox
