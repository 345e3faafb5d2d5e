// An HttpTransport decorator that makes every outbound call that carries a
// W3C `traceparent` a CLIENT span, after the OpenTelemetry HTTP client
// semantic conventions: name "{method}", attributes http.request.method,
// url.full (credentials redacted), server.address, server.port,
// network.protocol.version, http.response.status_code, error.type on
// failure (the status code, or the transport error), status ERROR for 4xx,
// 5xx and transport errors. The span is a child of the span named in the
// incoming traceparent (the engine's step or compensation attempt), and the
// request goes out with a traceparent naming the HTTP span itself, so the
// service's parent id is the span that called it.
//
// Requests without a valid traceparent pass through untouched. Wired only
// when tracing is on (see api/server/orchestrator_app.cpp).
#pragma once

#include "adapters/http/http_client.h"
#include "observability/trace.h"

namespace orch::http {

class TracingTransport final : public HttpTransport {
 public:
  // REQUIRES: `inner` and `sink` outlive this object and every call in flight.
  TracingTransport(HttpTransport& inner, observability::SpanSink& sink)
      : inner_(inner), sink_(sink) {}

  void send(const std::string& base_url, const Request& request, const CallOptions& options,
            CallCallback done) override;

 private:
  HttpTransport& inner_;
  observability::SpanSink& sink_;
};

// What the span reports of "http://user:pass@host:port/prefix" (parsed with
// Boost.URL): the URL without credentials ("REDACTED" in their place), host
// (an IPv6 literal without brackets) and port (80/443 by scheme when
// absent). A URL Boost.URL refuses is reported as given, without host and
// port.
struct UrlParts {
  std::string redacted;
  std::string host;
  int port = 0;
};
UrlParts url_parts(const std::string& url);

}  // namespace orch::http
