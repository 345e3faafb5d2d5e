// The HttpClient's requests: base URLs parsed once per thread, and requests
// serialised as Beast wrote them, their method, target and header fields
// checked before anything is sent.
#include "adapters/http/http_client_request.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "adapters/http/http_parser.h"
#include "adapters/http/http_syntax.h"

namespace orch::http::detail {

namespace {

using syntax::iequals;
using syntax::valid_token;

bool valid_target(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

std::string join_target(const std::string& prefix, const std::string& target) {
  if (target.empty()) return prefix.empty() ? std::string("/") : prefix;
  if (target.front() == '/') return prefix + target;
  if (target.front() == '?') return (prefix.empty() ? std::string("/") : prefix) + target;
  return prefix + "/" + target;
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

}  // namespace

// Base URLs parsed once per thread: services call the same few URLs over and
// over, and Boost.URL's grammar run on every call cost 1.5 % of the engine's
// instructions under the benchmark (callgrind). Failures are not kept.
std::shared_ptr<const ParsedUrl> parse_cached(const std::string& base_url, std::string* error) {
  constexpr std::size_t kMaxCachedUrls = 64;
  thread_local std::unordered_map<std::string, std::shared_ptr<const ParsedUrl>> cache;
  if (auto it = cache.find(base_url); it != cache.end()) return it->second;
  auto url = parse_base_url(base_url, error);
  if (!url) return nullptr;
  if (cache.size() >= kMaxCachedUrls) cache.clear();
  auto parsed = std::make_shared<const ParsedUrl>(std::move(*url));
  cache.emplace(base_url, parsed);
  return parsed;
}

std::string build_request(std::string& out, bool& head, const ParsedUrl& url, const Request& in) {
  if (!valid_token(in.method)) return "invalid HTTP method";
  std::string target = join_target(url.url.prefix, in.target);
  if (!valid_target(target)) return "invalid request target";
  out.clear();
  std::size_t header_bytes = 0;
  for (const auto& [name, value] : in.headers) header_bytes += name.size() + value.size() + 4;
  out.reserve(in.method.size() + target.size() + header_bytes + 160 + in.body.size());
  out += in.method;
  out += ' ';
  out += target;
  out += " HTTP/1.1\r\n";
  bool has_host = false, has_user_agent = false, has_content_type = false;
  for (const auto& [name, value] : in.headers) {
    if (!valid_token(name)) return "invalid request header name";
    if (!syntax::valid_field_value(value)) return "invalid value for request header '" + name + "'";
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
        iequals(name, "connection")) {
      continue;
    }
    if (iequals(name, "host")) has_host = true;
    if (iequals(name, "user-agent")) has_user_agent = true;
    if (iequals(name, "content-type")) has_content_type = true;
    append_field(out, name, trim_ows(value));
  }
  if (!has_host) {
    out += "Host: ";
    out += url.host_field;
    out += "\r\n";
  }
  if (!has_user_agent) out += "User-Agent: campaign-orchestrator/0.1\r\n";
  out += "Connection: keep-alive\r\n";
  bool sends_body = !in.body.empty() || in.method == "POST" || in.method == "PUT" ||
                    in.method == "PATCH";
  if (!in.body.empty() && !has_content_type) out += "Content-Type: application/json\r\n";
  if (sends_body) {
    out += "Content-Length: ";
    append_decimal(out, in.body.size());
    out += "\r\n";
  }
  out += "\r\n";
  out += in.body;
  head = in.method == "HEAD";
  return {};
}

}  // namespace orch::http::detail
