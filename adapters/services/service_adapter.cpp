#include "adapters/services/service_adapter.h"

#include <random>

#include "adapters/resilience/retry_schedule.h"
#include "adapters/resilience/service_guard.h"
#include "observability/log.h"
#include "observability/metrics.h"

#include <cctype>
#include <exception>
#include <mutex>
#include <set>
#include <utility>

namespace orch::adapters {

using nlohmann::json;
using phases::ServiceOutcome;
using phases::ServiceResult;

namespace {

bool is_unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

std::string clip(std::string s, std::size_t max) {
  for (auto& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (s.size() > max) {
    s.resize(max);
    s += "...";
  }
  return s;
}

// The warning about tls_insecure_skip_verify, once per service and process.
void warn_insecure(const std::string& service) {
  static std::mutex mu;
  static std::set<std::string> warned;
  {
    std::lock_guard lock(mu);
    if (!warned.insert(service).second) return;
  }
  observability::log(observability::LogLevel::warn,
                     "TLS CERTIFICATE VERIFICATION IS OFF for this service "
                     "(tls_insecure_skip_verify): anyone on the network path can read and change "
                     "its traffic, its token included. Use ca_file for a private CA instead.",
                     {{"service", service}});
}

}  // namespace

std::shared_ptr<const http::ConnectionSettings> connection_settings(
    const std::string& service, const ServiceEndpoint& endpoint) {
  http::ConnectionSettings c;
  c.ca_file = endpoint.setting("ca_file");
  c.insecure_skip_verify = endpoint.setting("tls_insecure_skip_verify") == "true";
  // Present but empty means something for these two: no proxy, no exceptions.
  if (auto it = endpoint.settings.find("proxy"); it != endpoint.settings.end())
    c.proxy = it->second;
  if (auto it = endpoint.settings.find("no_proxy"); it != endpoint.settings.end())
    c.no_proxy = it->second;
  if (c.ca_file.empty() && !c.insecure_skip_verify && !c.proxy && !c.no_proxy) return nullptr;
  if (c.insecure_skip_verify) warn_insecure(service);
  return std::make_shared<const http::ConnectionSettings>(std::move(c));
}

ServiceAdapter::ServiceAdapter(http::HttpTransport& transport, std::string service,
                               ServiceEndpoint endpoint)
    : transport_(transport), service_(std::move(service)), endpoint_(std::move(endpoint)) {
  base_options_.max_retries = 2;
  base_options_.initial_backoff = std::chrono::milliseconds(50);
  try {
    if (auto v = endpoint_.setting("max_retries"); !v.empty())
      base_options_.max_retries = std::max(0, std::stoi(v));
    if (auto v = endpoint_.setting("initial_backoff_ms"); !v.empty())
      base_options_.initial_backoff = std::chrono::milliseconds(std::max(0, std::stoi(v)));
  } catch (const std::exception&) {
    // keep the defaults on malformed settings
  }
  if (!endpoint_.token.empty()) secrets_.push_back(endpoint_.token);
  base_options_.connection = connection_settings(service_, endpoint_);
}

std::string ServiceAdapter::error_reason(const http::Response& res) const {
  return error_detail(res.body);
}

json ServiceAdapter::error_value(const http::Response&) const { return json(); }

RetryAdvice ServiceAdapter::retry_advice(const http::Response& res) const {
  return standard_retry_advice(res);
}

RetryAdvice ServiceAdapter::standard_retry_advice(const http::Response& res) {
  RetryAdvice advice;
  advice.retryable = res.status == 429 || res.status >= 500;
  if (!advice.retryable) return advice;
  if (auto h = res.header("Retry-After")) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    if (auto parsed = resilience::parse_retry_after(*h, now)) advice.retry_after = *parsed;
  }
  return advice;
}

void ServiceAdapter::add_secret(std::string secret) {
  if (!secret.empty()) secrets_.push_back(std::move(secret));
}

void ServiceAdapter::add_bearer(http::Headers& headers) const {
  if (!endpoint_.token.empty()) headers.emplace_back("Authorization", "Bearer " + endpoint_.token);
}

void ServiceAdapter::reject(ServiceResult& out, std::string why, ServiceOutcome outcome) {
  out.outcome = outcome;
  out.error = std::move(why);
}

void ServiceAdapter::fail_now(const std::string& what, phases::ServiceCallback& done) const {
  ServiceResult r;
  r.outcome = ServiceOutcome::permanent;
  r.error = redact(service_ + ": " + what);
  if (done) done(std::move(r));
}

std::string ServiceAdapter::redact(std::string text) const {
  for (const auto& secret : secrets_) {
    if (secret.size() < 3) continue;
    std::size_t pos = 0;
    while ((pos = text.find(secret, pos)) != std::string::npos) {
      text.replace(pos, secret.size(), "[redacted]");
      pos += 10;
    }
  }
  return text;
}

struct ServiceAdapter::GuardedCall {
  http::Request request;
  http::CallOptions options;
  Exchange exchange;
  std::string path;
  Normalizer normalize;
  phases::ServiceCallback done;
  int attempts;
  int max_retries;
  std::uint64_t caller;  // the step's idempotency key, hashed (0 = none)
  bool probe = false;    // the last admission was a half-open probe
};

void ServiceAdapter::execute(const phases::CallContext& ctx, Exchange ex, Normalizer normalize,
                             phases::ServiceCallback done) {
  http::Request req;
  req.method = ex.method;
  req.target = ex.target;
  req.headers.reserve(ex.headers.size() + 5);
  if (!ctx.idempotency_key.empty()) req.headers.emplace_back("Idempotency-Key", ctx.idempotency_key);
  if (!ctx.traceparent.empty()) req.headers.emplace_back("traceparent", ctx.traceparent);
  bool has_accept = false;
  for (auto& h : ex.headers) {
    if (h.first == "Accept") has_accept = true;
    req.headers.push_back(std::move(h));
  }
  ex.headers.clear();
  if (!has_accept) req.headers.emplace_back("Accept", "application/json");
  if (!ex.body.empty()) req.headers.emplace_back("Content-Type", ex.content_type);
  req.body = std::move(ex.body);

  http::CallOptions options = base_options_;
  if (ctx.timeout.count() > 0) options.timeout = ctx.timeout;
  const int retries = ctx.transport_retries >= 0 ? ctx.transport_retries : base_options_.max_retries;
  options.max_retries = retries;

  std::string path(path_of(ex.target));
  if (guard_) {
    options.max_retries = 0;  // retries happen in send_guarded, under the budget
    const std::uint64_t caller =
        ctx.idempotency_key.empty() ? 0 : std::hash<std::string>{}(ctx.idempotency_key) | 1;
    auto call = std::make_shared<GuardedCall>(GuardedCall{std::move(req), options, std::move(ex),
                                                          std::move(path), std::move(normalize),
                                                          std::move(done), 0,
                                                          retries, caller});
    guard_->on_first_attempt();
    send_guarded(std::move(call));
    return;
  }
  transport_.send(endpoint_.base_url, req, options,
                  [this, ex = std::move(ex), path = std::move(path),
                   normalize = std::move(normalize),
                   done = std::move(done)](http::CallResult result) mutable {
                    ServiceResult out = translate(ex, path, result, normalize);
                    if (done) done(std::move(out));
                  });
}

void ServiceAdapter::protect(ServiceGuard* guard, Scheduler scheduler,
                             observability::Metrics* metrics) {
  guard_ = guard;
  scheduler_ = std::move(scheduler);
  metrics_ = metrics;
}

void ServiceAdapter::send_guarded(std::shared_ptr<GuardedCall> call) {
  ServiceGuard::Admission admission = guard_->admit(call->caller);
  call->probe = admission.probe;
  if (!admission.admitted) {
    if (metrics_) metrics_->adapter_call(service_, "rejected", 0.0);
    ServiceResult out;
    out.outcome = ServiceOutcome::unavailable;
    out.retry_after = admission.retry_after;
    out.error = admission.reason;
    if (call->done) call->done(std::move(out));
    return;
  }
  ++call->attempts;
  const auto started = std::chrono::steady_clock::now();
  transport_.send(
      endpoint_.base_url, call->request, call->options,  // kept for a retry
      [this, call, started](http::CallResult result) {
        const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        resilience::CallOutcome outcome = resilience::CallOutcome::success;
        bool retryable = false;
        std::chrono::milliseconds retry_after{0};
        std::string label = "success";
        const bool tls = result.error == http::TransportError::tls;
        if (!result.ok()) {
          const bool bad_url = result.error == http::TransportError::bad_url;
          // A TLS failure counts as a connection error.
          const bool counted = result.error == http::TransportError::timeout
                                   ? guard_->counts_timeouts()
                                   : guard_->counts_connection_errors();
          outcome = !bad_url && counted ? resilience::CallOutcome::failure
                                        : resilience::CallOutcome::ignored;
          retryable = !bad_url && !tls;
          label = http::to_string(result.error);
        } else {
          const int status = result.response.status;
          if (status >= 300) {
            const RetryAdvice advice = retry_advice(result.response);
            retryable = advice.retryable;
            retry_after = advice.retry_after;
          }
          if (guard_->counts_status(status))
            outcome = resilience::CallOutcome::failure;
          else if (retryable)
            outcome = resilience::CallOutcome::ignored;  // neither healthy nor counted
          if (status >= 400) label = retryable ? std::to_string(status) : "client_error";
        }
        const bool outage = guard_->finish(
            outcome, elapsed,
            outcome == resilience::CallOutcome::failure
                ? redact(service_ + " " + call->exchange.method + " " + call->path + ": " + label +
                         (tls ? " (" + clip(result.error_message, 200) + ")" : std::string()))
                : std::string(),
            call->caller, call->probe);
        if (metrics_)
          metrics_->adapter_call(service_, label, std::chrono::duration<double>(elapsed).count());
        constexpr std::chrono::milliseconds kLongestInlineWait{1000};
        if (retryable && call->attempts <= call->max_retries && retry_after <= kLongestInlineWait &&
            scheduler_ && guard_->allow_retry()) {
          static thread_local std::mt19937_64 rng{std::random_device{}()};
          const auto backoff = http::full_jitter_backoff(
              call->options, call->attempts,
              std::uniform_real_distribution<double>(0.0, 1.0)(rng));
          scheduler_(std::max(backoff, retry_after), [this, call] { send_guarded(call); });
          return;
        }
        result.attempts = call->attempts;
        ServiceResult out = translate(call->exchange, call->path, result, call->normalize);
        // An outage's failure is not the step's: the step waits for the
        // service instead of spending an attempt (ServiceGuard::finish).
        // Not a TLS failure: the same certificate would be refused again
        // after any wait, so the step fails now.
        if (outage && !tls) {
          out.outcome = ServiceOutcome::unavailable;
          out.retry_after = guard_->breaker().retry_after();
        }
        if (call->done) call->done(std::move(out));
      });
}

ServiceResult ServiceAdapter::translate(const Exchange& ex, const std::string& path,
                                        http::CallResult& result,
                                        const Normalizer& normalize) const {
  ServiceResult out;
  // Built only for an error message (most calls succeed).
  auto prefix = [&] { return service_ + " " + ex.method + " " + path + " failed"; };
  if (!result.ok()) {
    out.http_status = 0;
    out.outcome =
        result.error == http::TransportError::bad_url || result.error == http::TransportError::tls
            ? ServiceOutcome::permanent
            : ServiceOutcome::retryable;
    std::string msg = prefix() + ": " + http::to_string(result.error);
    if (!result.error_message.empty()) msg += " (" + clip(result.error_message, 200) + ")";
    out.error = redact(std::move(msg));
    return out;
  }
  const http::Response& res = result.response;
  const int status = res.status;
  out.http_status = status;
  if (status >= 200 && status < 300) {
    out.outcome = ServiceOutcome::ok;
    out.value = json::object();
    try {
      if (normalize) normalize(res, out);
    } catch (const std::exception& e) {
      reject(out, std::string("unusable response body: ") + e.what());
    }
    if (!out.ok()) {
      out.error = redact(prefix() + ": HTTP " + std::to_string(status) +
                         (out.error.empty() ? std::string() : ": " + clip(out.error, 300)));
    }
    return out;
  }
  if (status == 404 && ex.compensation) {
    out.outcome = ServiceOutcome::ok;
    out.value = ex.absent_value.is_object() ? ex.absent_value : json::object();
    out.value["already_absent"] = true;
    return out;
  }
  const RetryAdvice advice = retry_advice(res);
  out.outcome = advice.retryable ? ServiceOutcome::retryable : ServiceOutcome::permanent;
  if (advice.retryable) out.retry_after = advice.retry_after;
  out.value = error_value(res);
  std::string msg = prefix() + ": HTTP " + std::to_string(status);
  if (std::string reason = error_reason(res); !reason.empty())
    msg += ": " + service_ + ": " + clip(std::move(reason), 300);
  out.error = redact(std::move(msg));
  return out;
}

// --- encoding helpers ---------------------------------------------------------

std::string url_encode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size() + 8);
  for (unsigned char c : in) {
    if (is_unreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string url_encode_path(std::string_view path) {
  std::string out;
  out.reserve(path.size() + 8);
  std::size_t start = 0;
  while (true) {
    std::size_t slash = path.find('/', start);
    out += url_encode(path.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    out.push_back('/');
    start = slash + 1;
  }
  return out;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out.push_back('&');
    out += url_encode(k);
    out.push_back('=');
    out += url_encode(v);
  }
  return out;
}

std::string base64_encode(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  if (i < in.size()) {
    uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

bool parse_object(const http::Response& res, const JsonProjection& fields, json& body,
                  ServiceResult& out) {
  if (!fields.parse(res.body, body) || !body.is_object()) {
    out.outcome = ServiceOutcome::permanent;
    out.error = "unusable response body (not a JSON object)";
    return false;
  }
  return true;
}

std::string json_string(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json error_body(std::string_view body) {
  if (body.empty()) return json(json::value_t::discarded);
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return json(json::value_t::discarded);
  return j;
}

std::string error_detail(std::string_view body) {
  if (body.empty()) return {};
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return {};
  auto str = [&](const json& o, const char* k) -> std::string {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string d;
  if (auto it = j.find("error"); it != j.end()) {
    if (it->is_string()) d = it->get<std::string>();
    else if (it->is_object()) d = str(*it, "message");
  }
  if (d.empty()) d = str(j, "message");
  if (d.empty()) {
    if (auto it = j.find("errors"); it != j.end() && it->is_array() && !it->empty())
      d = (*it)[0].is_object() ? str((*it)[0], "message") : std::string();
  }
  if (d.empty()) d = str(j, "err");
  if (d.empty()) d = str(j, "detail");
  if (d.empty()) d = str(j, "title");
  return clip(std::move(d), 200);
}

}  // namespace orch::adapters
