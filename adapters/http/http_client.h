// The outbound HTTP transport. `HttpTransport` is the seam tests and adapters
// use; `HttpClient` is the Beast implementation with keep-alive connection
// pooling per origin, a per-call timeout and retries with exponential backoff
// and full jitter on 5xx, timeouts and connection errors (never on other 4xx,
// never on TLS failures). It speaks http:// and https:// (TLS 1.2 or later,
// certificates and host names verified, sessions resumed), directly or
// through an HTTP CONNECT proxy (adapters/http/http_proxy.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "adapters/http/http_message.h"
#include "adapters/http/http_proxy.h"

namespace boost::asio {
class io_context;
}

namespace orch::http {

enum class TransportError {
  none,     // a response was received (any status)
  timeout,  // the per-call deadline expired
  connect,  // resolve/connect failed
  io,       // the connection broke mid-exchange
  bad_url,  // the base URL (or the proxy URL) could not be parsed
  // TLS refused: the message starts with "certificate_verify_failed: ",
  // "hostname_mismatch: " or "tls_handshake: " (or "tls_config: " when the
  // service's CA file cannot be loaded). Never retried: the same certificate
  // would come again.
  tls,
};

const char* to_string(TransportError e);

// How to reach a service beyond its URL: whom to trust over TLS, and which
// proxy to go through. Immutable once made; shared by the calls to one
// service.
struct ConnectionSettings {
  // A PEM file of the CA certificates to trust for https://, instead of the
  // system's store (OpenSSL's default verify paths, which SSL_CERT_FILE and
  // SSL_CERT_DIR override, as for curl).
  std::string ca_file;
  // No certificate or host name check at all. For tests against a server
  // with a throwaway certificate only: anyone on the path can read and
  // change the traffic, tokens included.
  bool insecure_skip_verify = false;
  // The proxy URL (see parse_proxy_url): set, it replaces the environment's
  // ("" = none); unset, the environment's applies (ProxyEnvironment).
  std::optional<std::string> proxy;
  // The NO_PROXY list (see no_proxy_matches): set, it replaces the
  // environment's; unset, the environment's applies.
  std::optional<std::string> no_proxy;

  // Appends what tells connection pools apart to `out`: calls with equal
  // keys share connections.
  void append_key(std::string& out) const;
};

// Settings for calls that never go through a proxy: the tools' own calls to
// servers on this machine (the benchmark, the demo, the crash harness),
// which a proxy from the environment could not reach.
std::shared_ptr<const ConnectionSettings> direct_connection();

// Whether `settings` can be used: the CA file loads and the proxy URL
// parses. Returns "" or what is wrong (start-up checks it for every
// service, so a typo stops the server instead of failing every call).
std::string check_connection_settings(const ConnectionSettings& settings);

struct CallOptions {
  std::chrono::milliseconds timeout{10'000};  // per attempt: connect (and proxy
                                              // tunnel, TLS handshake) to last byte
  int max_retries = 2;                        // extra attempts after the first
  std::chrono::milliseconds initial_backoff{50};
  double backoff_coefficient = 2.0;
  std::chrono::milliseconds max_backoff{2'000};
  // Null: the defaults (the system's CAs, the environment's proxy).
  std::shared_ptr<const ConnectionSettings> connection;
};

struct CallResult {
  TransportError error = TransportError::none;
  std::string error_message;  // human readable; never contains headers/secrets
  Response response;          // valid when error == none
  int attempts = 0;
  bool ok() const { return error == TransportError::none; }
};

using CallCallback = std::function<void(CallResult)>;

// REQUIRES: callbacks are invoked on the transport's io_context thread.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // `base_url` is "http[s]://host[:port]" optionally followed by a path
  // prefix (see parse_base_url); `request.target` is appended to it. `request.method` and headers
  // are sent as given; Host, Content-Length and Connection are filled in. The request is serialised
  // (or copied) before send() returns, so a caller that may resend it keeps its own and lends it
  // here without a copy.
  virtual void send(const std::string& base_url, const Request& request,
                    const CallOptions& options, CallCallback done) = 0;
};

// Defined at namespace scope (and aliased as HttpClient::PoolLimits) so that
// its default member initializer is usable in the `= {}` default argument
// below (GCC rejects that for a class nested in the class being defined).
struct HttpPoolLimits {
  // Enough for the calls in flight to one service under load (with 50 ms of
  // service latency and 2,000 campaigns in flight, thousands): a connection
  // beyond it is closed after its call, and the next call pays a new one.
  int max_idle_per_origin = 8192;
};

// REQUIRES: `io` is run by one thread (calls use its executor, not strands).
// send() may be called from any thread.
class HttpClient final : public HttpTransport {
 public:
  using PoolLimits = HttpPoolLimits;
  // `proxies`: the proxy variables, read from this process's environment
  // unless given.
  explicit HttpClient(boost::asio::io_context& io, PoolLimits limits = {},
                      std::optional<ProxyEnvironment> proxies = std::nullopt);
  ~HttpClient() override;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  void send(const std::string& base_url, const Request& request,
            const CallOptions& options, CallCallback done) override;

  // Closes idle pooled connections. In-flight calls finish normally.
  void close_idle();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Delay before retry number `retry` (1-based): a uniform draw in
// [0, min(max_backoff, initial * coefficient^(retry-1))] ("full jitter").
std::chrono::milliseconds full_jitter_backoff(const CallOptions& options, int retry,
                                              double unit_random);

}  // namespace orch::http
