#include "adapters/tracing_transport.h"

#include <array>
#include <cctype>
#include <string_view>

namespace orch::http {

namespace {

// HTTP methods the semantic conventions know; anything else is "_OTHER".
std::string known_method(const std::string& method) {
  static constexpr std::array<const char*, 9> kKnown = {
      "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  for (const char* m : kKnown)
    if (method == m) return method;
  return "_OTHER";
}

bool is_traceparent(const std::string& name) {
  static constexpr std::string_view kName = "traceparent";
  if (name.size() != kName.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(name[i])) != kName[i]) return false;
  return true;
}

}  // namespace

UrlParts url_parts(const std::string& url) {
  UrlParts out;
  const std::size_t scheme_end = url.find("://");
  const std::size_t authority_begin = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  const std::string scheme = scheme_end == std::string::npos ? "http" : url.substr(0, scheme_end);
  std::size_t authority_end = url.find_first_of("/?#", authority_begin);
  if (authority_end == std::string::npos) authority_end = url.size();
  std::string authority = url.substr(authority_begin, authority_end - authority_begin);
  out.redacted = url;
  if (const std::size_t at = authority.rfind('@'); at != std::string::npos) {
    authority = authority.substr(at + 1);
    out.redacted = url.substr(0, authority_begin) + "REDACTED:REDACTED@" + authority +
                   url.substr(authority_end);
  }
  std::string port;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    const std::size_t close = authority.find(']');
    out.host = authority.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 1 < authority.size() && authority[close + 1] == ':')
      port = authority.substr(close + 2);
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string::npos) {
    out.host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  } else {
    out.host = authority;
  }
  out.port = scheme == "https" ? 443 : 80;
  if (!port.empty() && port.size() <= 5 &&
      port.find_first_not_of("0123456789") == std::string::npos)
    out.port = std::stoi(port);
  return out;
}

void TracingTransport::send(const std::string& base_url, const Request& original,
                            const CallOptions& options, CallCallback done) {
  auto found = original.headers.end();
  for (auto it = original.headers.begin(); it != original.headers.end(); ++it)
    if (is_traceparent(it->first)) found = it;
  std::optional<observability::TraceContext> parent;
  if (found != original.headers.end()) parent = observability::parse_traceparent(found->second);
  if (!parent) {
    inner_.send(base_url, original, options, std::move(done));
    return;
  }
  // The service is sent this span's own id: a copy with its traceparent.
  Request request = original;
  auto header = request.headers.begin() + (found - original.headers.begin());
  observability::Span span;
  span.trace_id = parent->trace_id;
  span.parent_span_id = parent->parent_span_id;
  span.span_id = observability::random_span_id();
  span.kind = observability::SpanKind::client;
  span.name = known_method(request.method);
  header->second = observability::format_traceparent(span.trace_id, span.span_id);

  std::string base = base_url;
  if (!base.empty() && base.back() == '/' && !request.target.empty() &&
      request.target.front() == '/')
    base.pop_back();
  const UrlParts url = url_parts(base + request.target);
  span.attr("http.request.method", span.name)
      .attr("url.full", url.redacted)
      .attr("server.address", url.host)
      .attr("server.port", url.port)
      .attr("network.protocol.version", "1.1");
  if (span.name == "_OTHER") span.attr("http.request.method_original", request.method);
  span.start_unix_ns = observability::unix_nanos_now();
  inner_.send(
      base_url, request, options,
      [&sink = sink_, span = std::move(span), done = std::move(done)](CallResult result) mutable {
        span.end_unix_ns = observability::unix_nanos_now();
        if (result.attempts > 1) span.attr("http.request.resend_count", result.attempts - 1);
        if (result.ok()) {
          const int status = result.response.status;
          span.attr("http.response.status_code", status);
          if (status >= 400) {
            span.attr("error.type", std::to_string(status));
            span.fail("HTTP " + std::to_string(status));
          }
        } else {
          span.attr("error.type", to_string(result.error));
          span.fail(to_string(result.error));
        }
        sink.record(std::move(span));
        done(std::move(result));
      });
}

}  // namespace orch::http
