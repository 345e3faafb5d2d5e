// The outbound HTTP transport. `HttpTransport` is the seam tests and adapters
// use; `HttpClient` is the Beast implementation with keep-alive connection
// pooling per origin, a per-call timeout and retries with exponential backoff
// and full jitter on 5xx, timeouts and connection errors (never on other 4xx).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "adapters/http_message.h"

namespace boost::asio {
class io_context;
}

namespace orch::http {

enum class TransportError {
  none,        // a response was received (any status)
  timeout,     // the per-call deadline expired
  connect,     // resolve/connect failed
  io,          // the connection broke mid-exchange
  bad_url,     // the base URL could not be parsed
};

const char* to_string(TransportError e);

struct CallOptions {
  std::chrono::milliseconds timeout{10'000};  // per attempt, connect to last byte
  int max_retries = 2;                        // extra attempts after the first
  std::chrono::milliseconds initial_backoff{50};
  double backoff_coefficient = 2.0;
  std::chrono::milliseconds max_backoff{2'000};
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
  // `base_url` is "http://host:port" optionally followed by a path prefix;
  // `request.target` is appended to it. `request.method` and headers are sent
  // as given; Host, Content-Length and Connection are filled in. The request
  // is serialised (or copied) before send() returns, so a caller that may
  // resend it keeps its own and lends it here without a copy.
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
  explicit HttpClient(boost::asio::io_context& io, PoolLimits limits = {});
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
