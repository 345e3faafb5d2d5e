#include "adapters/http/tracing_transport.h"

#include <array>
#include <cctype>
#include <string_view>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "adapters/http/http_url.h"

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
  namespace urls = boost::urls;
  UrlParts out;
  out.redacted = url;
  const auto parsed = urls::parse_uri(url);
  if (!parsed) return out;
  const urls::url_view& view = *parsed;
  if (view.has_userinfo()) {
    urls::url redacted = view;
    redacted.set_user("REDACTED");
    redacted.set_password("REDACTED");
    out.redacted = std::string(redacted.buffer());
  }
  out.host = view.host_address();  // IPv6 without brackets
  out.port = view.scheme_id() == urls::scheme::https ? 443 : 80;
  if (view.has_port())
    if (const auto port = parse_port(view.port())) out.port = *port;
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
