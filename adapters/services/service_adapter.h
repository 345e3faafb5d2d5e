// The base every service adapter builds on: one HTTP exchange through the
// injected orch::http::HttpTransport, turned into a phases::ServiceResult.
//
//  * 2xx            -> ok; the adapter's normaliser builds `value` (or marks
//                      the body unusable -> permanent)
//  * 404 on a compensation -> ok, value = the adapter's absent value plus
//                      "already_absent": true (compensations are idempotent)
//  * 429, 5xx, timeout, connect, io -> retryable (retry_after from a
//                      Retry-After header: seconds or an HTTP-date)
//  * other statuses, bad_url -> permanent
//  * any non-2xx answer (but a compensation's 404) -> value = error_value()
//                      (null unless the adapter reads the service's error
//                      body into one)
//  * tls (certificate_verify_failed, hostname_mismatch, tls_handshake) ->
//                      permanent: the breaker counts it as a connection
//                      error, but it is never an outage to wait out, so a
//                      misconfigured certificate fails the step instead of
//                      keeping it waiting
// An adapter whose service says "retry later" otherwise (GitHub's 403 rate
// limit) overrides retry_advice().
//
// How the service is reached (settings, all optional; see
// http::ConnectionSettings):
//   ca_file                   PEM file of the CAs to trust for https://
//                             (instead of the system's store)
//   tls_insecure_skip_verify  "true": no certificate or host name check
//                             (logged as a warning once per service)
//   proxy                     proxy URL for this service ("" = none),
//                             instead of HTTPS_PROXY / http_proxy
//   no_proxy                  NO_PROXY list for this service, instead of
//                             the environment's
//
// Every request carries Idempotency-Key (ctx.idempotency_key), traceparent
// (when non-empty) and the service's auth header; the transport retries with
// max_retries (setting, default 2) and initial_backoff_ms (default 50) and a
// per-attempt timeout of ctx.timeout. Error strings name the service, method,
// path and status, then the service's own reason in its words, after the
// service's name ("... failed: HTTP 200: slack: channel_not_found"; see
// error_reason()), and never contain a token.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/services/adapter_config.h"
#include "adapters/http/http_client.h"
#include "adapters/services/json_projection.h"
#include "phases/ports.h"

namespace orch::observability {
class Metrics;
}

namespace orch::adapters {

// The connection settings of `endpoint`'s service (null when it sets none:
// the client's defaults apply). Logs the warning about
// tls_insecure_skip_verify, once per service name and process.
std::shared_ptr<const http::ConnectionSettings> connection_settings(
    const std::string& service, const ServiceEndpoint& endpoint);

// One outbound request.
struct Exchange {
  std::string method;
  std::string target;  // path (already percent-encoded) plus optional query
  std::string body;
  std::string content_type = "application/json";  // only sent with a body
  http::Headers headers;                          // auth and service headers
  bool compensation = false;      // 404 -> ok + already_absent
  nlohmann::json absent_value = nlohmann::json::object();
};

// Builds `out.value` from a 2xx response. To reject the body, call
// ServiceAdapter::reject (permanent) or set outcome/error directly.
using Normalizer = std::function<void(const http::Response&, phases::ServiceResult& out)>;

class ServiceGuard;

// What a non-2xx answer means for a retry.
struct RetryAdvice {
  bool retryable = false;
  std::chrono::milliseconds retry_after{0};  // 0: the caller's own backoff
};

// Runs `fn` after `delay` on the transport's thread (an asio timer).
using Scheduler = std::function<void(std::chrono::milliseconds delay, std::function<void()> fn)>;

class ServiceAdapter {
 public:
  virtual ~ServiceAdapter() = default;
  const std::string& service_name() const { return service_; }

  // Puts every call behind the service's resilience pipeline: each attempt
  // needs the breaker's, rate limit's and bulkhead's admission (a refusal
  // answers `unavailable` with the time to wait, nothing is sent), outcomes
  // feed the breaker, and transport retries happen here, within the retry
  // budget, with full jitter (a Retry-After over 1 s goes back to the engine
  // as a durable retry instead). Without it, calls go straight out.
  void protect(ServiceGuard* guard, Scheduler scheduler, observability::Metrics* metrics);

 protected:
  ServiceAdapter(http::HttpTransport& transport, std::string service, ServiceEndpoint endpoint);

  // Sends `ex` and calls `done` exactly once (on the transport's thread).
  void execute(const phases::CallContext& ctx, Exchange ex, Normalizer normalize,
               phases::ServiceCallback done);

  // The service's own reason for a non-2xx answer, in its words (its error
  // code and message), or "" when the body has none. Default: error_detail().
  virtual std::string error_reason(const http::Response& res) const;
  // The `value` of a failed result from a non-2xx answer: what a caller may
  // need to tell the service's refusals apart (Twilio's numeric code, ...).
  // Default: null.
  virtual nlohmann::json error_value(const http::Response& res) const;
  // Whether a non-2xx answer may be retried, and when. Default:
  // standard_retry_advice().
  virtual RetryAdvice retry_advice(const http::Response& res) const;
  // 429 and 5xx are retryable, after Retry-After when it is present.
  static RetryAdvice standard_retry_advice(const http::Response& res);

  // Marks `out` as a permanent failure because the 2xx body is unusable (or
  // is an in-band error, like Slack's ok:false: then `why` is the service's
  // name and its reason, "slack: channel_not_found"). Use from a Normalizer.
  static void reject(phases::ServiceResult& out, std::string why,
                     phases::ServiceOutcome outcome = phases::ServiceOutcome::permanent);

  // Completes `done` with a permanent error without any I/O (invalid input).
  // NOTE: runs `done` synchronously.
  void fail_now(const std::string& what, phases::ServiceCallback& done) const;

  // "Authorization: Bearer <token>" (nothing when the token is empty).
  void add_bearer(http::Headers& headers) const;

  const ServiceEndpoint& endpoint() const { return endpoint_; }
  std::string setting(const std::string& name, const std::string& fallback = "") const {
    return endpoint_.setting(name, fallback);
  }
  // Extra strings to scrub from error messages (e.g. a Basic credential).
  void add_secret(std::string secret);

 private:
  struct GuardedCall;
  void send_guarded(std::shared_ptr<GuardedCall> call);
  phases::ServiceResult translate(const Exchange& ex, const std::string& path,
                                  http::CallResult& result, const Normalizer& normalize) const;
  std::string redact(std::string text) const;

  http::HttpTransport& transport_;
  std::string service_;
  ServiceEndpoint endpoint_;
  http::CallOptions base_options_;
  std::vector<std::string> secrets_;
  ServiceGuard* guard_ = nullptr;
  Scheduler scheduler_;
  observability::Metrics* metrics_ = nullptr;
};

// --- encoding helpers ---------------------------------------------------------

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string url_encode(std::string_view in);
// Percent-encodes each '/'-separated segment, keeping the slashes.
std::string url_encode_path(std::string_view path);
// application/x-www-form-urlencoded body from ordered fields.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);
std::string base64_encode(std::string_view in);

// Parses a 2xx body as a JSON object into `body`, keeping only the members
// `fields` names (see json_projection.h); on failure rejects `out`
// (permanent, "unusable response body") and returns false.
bool parse_object(const http::Response& res, const JsonProjection& fields, nlohmann::json& body,
                  phases::ServiceResult& out);
// j[key] when it is a string, else "".
std::string json_string(const nlohmann::json& j, const char* key);

// A short human-readable error detail from a service's error body (the usual
// "message" / "error" / "errors[0].message" / "err" fields), or "".
std::string error_detail(std::string_view body);
// A non-2xx body parsed as a JSON object, or a discarded value.
nlohmann::json error_body(std::string_view body);

}  // namespace orch::adapters
