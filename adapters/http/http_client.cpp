// HttpClient and the transport's free functions: the public side of the
// client. A call's work is in http_client_call.h, the pools in
// http_client_pool.h, the request on the wire in http_client_request.h.
#include "adapters/http/http_client.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "adapters/http/http_client_call.h"
#include "adapters/http/http_client_pool.h"
#include "adapters/http/http_client_request.h"
#include "adapters/http/tls_context.h"

namespace orch::http {

const char* to_string(TransportError e) {
  switch (e) {
    case TransportError::none: return "none";
    case TransportError::timeout: return "timeout";
    case TransportError::connect: return "connect";
    case TransportError::io: return "io";
    case TransportError::bad_url: return "bad_url";
    case TransportError::tls: return "tls";
  }
  return "unknown";
}

std::chrono::milliseconds full_jitter_backoff(const CallOptions& options, int retry,
                                              double unit_random) {
  if (retry < 1) retry = 1;
  if (!(unit_random >= 0.0)) unit_random = 0.0;  // also catches NaN
  if (unit_random > 1.0) unit_random = 1.0;
  double max_ms = static_cast<double>(std::max<std::int64_t>(0, options.max_backoff.count()));
  double initial = static_cast<double>(std::max<std::int64_t>(0, options.initial_backoff.count()));
  double coefficient = options.backoff_coefficient;
  if (!(coefficient >= 0.0)) coefficient = 1.0;
  double cap = initial * std::pow(coefficient, static_cast<double>(retry - 1));
  if (!(cap <= max_ms)) cap = max_ms;  // overflow to inf or NaN also lands here
  if (cap < 0.0) cap = 0.0;
  double value = std::floor(unit_random * cap);
  if (value > cap) value = cap;
  return std::chrono::milliseconds(static_cast<std::int64_t>(value));
}

namespace {

namespace asio = boost::asio;
using detail::build_request;
using detail::Call;
using detail::ClientCore;
using detail::parse_cached;

}  // namespace

struct HttpClient::Impl {
  std::shared_ptr<ClientCore> core;
};

void ConnectionSettings::append_key(std::string& out) const {
  if (insecure_skip_verify) {
    out += "insecure";
  } else {
    out += "ca=";
    out += ca_file;
  }
  if (proxy) {
    out += "|proxy=";
    out += *proxy;
  }
  if (no_proxy) {
    out += "|no_proxy=";
    out += *no_proxy;
  }
}

std::shared_ptr<const ConnectionSettings> direct_connection() {
  static const auto direct = [] {
    auto s = std::make_shared<ConnectionSettings>();
    s->proxy = "";
    return std::shared_ptr<const ConnectionSettings>(std::move(s));
  }();
  return direct;
}

std::string check_connection_settings(const ConnectionSettings& settings) {
  std::string error;
  if (!settings.insecure_skip_verify && !settings.ca_file.empty() &&
      !detail::make_client_context(settings.ca_file, true, &error))
    return error;
  if (settings.proxy && !settings.proxy->empty() && !parse_proxy_url(*settings.proxy, &error))
    return error;
  return {};
}

HttpClient::HttpClient(boost::asio::io_context& io, PoolLimits limits,
                       std::optional<ProxyEnvironment> proxies)
    : impl_(std::make_shared<Impl>()) {
  impl_->core = std::make_shared<ClientCore>(
      io, limits, proxies ? std::move(*proxies) : ProxyEnvironment::from_process());
}

HttpClient::~HttpClient() {
  auto core = impl_->core;
  auto shutdown = [core] {
    core->shutting_down = true;
    core->close_idle();
  };
  if (core->ex.running_in_this_thread() || core->io.stopped()) {
    shutdown();
  } else {
    asio::post(core->ex, std::move(shutdown));
  }
}

void HttpClient::send(const std::string& base_url, const Request& request,
                      const CallOptions& options, CallCallback done) {
  auto core = impl_->core;
  std::string error;
  auto url = parse_cached(base_url, &error);
  std::string wire;
  bool head = false;
  if (url) error = build_request(wire, head, *url, request);
  if (!error.empty()) {
    // Never complete inline: callers may hold locks or be mid-iteration.
    asio::post(core->ex, [done = std::move(done), error = std::move(error)]() mutable {
      CallResult result;
      result.error = TransportError::bad_url;
      result.error_message = std::move(error);
      result.attempts = 0;
      if (done) done(std::move(result));
    });
    return;
  }
  auto ex = core->ex;
  auto call = std::make_shared<Call>(std::move(core), std::move(url), options, std::move(done));
  call->set_wire(std::move(wire), head);
  asio::post(ex, [call = std::move(call)] { call->start_attempt(); });
}

void HttpClient::close_idle() {
  auto core = impl_->core;
  asio::dispatch(core->ex, [core] { core->close_idle(); });
}

}  // namespace orch::http
