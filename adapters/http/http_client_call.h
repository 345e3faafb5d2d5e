// One HttpClient::send() from start to callback: the state machine of its
// attempts (resolve, connect, proxy tunnel, TLS handshake, write, read) and
// its retries. Internal to the client (adapters/http/http_client*.cpp):
//   http_client_call.cpp      attempts, retries and the callback
//   http_client_connect.cpp   resolve, connect, CONNECT tunnel, TLS handshake
//   http_client_exchange.cpp  the request written, the response read
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/system/error_code.hpp>

#include "adapters/http/http_client.h"
#include "adapters/http/http_client_pool.h"
#include "adapters/http/http_client_request.h"
#include "adapters/http/http_deadline.h"
#include "adapters/http/http_parser.h"
#include "adapters/http/http_url.h"

namespace orch::http::detail {

// REQUIRES: used on the client's io_context thread (ClientCore::ex).
class Call : public std::enable_shared_from_this<Call> {
 public:
  using Clock = std::chrono::steady_clock;
  using error_code = boost::system::error_code;
  using tcp = boost::asio::ip::tcp;

  Call(std::shared_ptr<ClientCore> core, std::shared_ptr<const ParsedUrl> parsed,
       CallOptions options, CallCallback done);

  // The serialised request (head and body) and whether it is a HEAD.
  void set_wire(std::string wire, bool head) {
    wire_ = std::move(wire);
    head_ = head;
  }

  void start_attempt();

  // The origin's host was resolved (ClientCore::on_resolved).
  void on_resolved(error_code ec);

 private:
  enum class State {
    idle,
    resolving,
    connecting,
    tunnelling,
    handshaking,
    exchanging,
    waiting,
    done
  };

  Origin& origin() {
    if (!origin_) origin_ = &core_->origin(key_, url_, options_.connection.get());
    return *origin_;
  }

  // What a message calls the place it could not reach: the origin, and the
  // proxy when there is one (never the proxy's credentials).
  std::string where();

  // Beast fails an operation started after its deadline at once.
  bool past_deadline() const { return Clock::now() >= deadline_; }

  // The error an operation on conn_ completed with, as Beast's tcp_stream
  // reports it (a timeout, not the abort the deadline's close caused).
  error_code op_error(error_code ec) const {
    if (conn_ && conn_->timed_out) return boost::beast::error::timeout;
    return ec;
  }

  // --- reaching the origin (http_client_connect.cpp) ------------------------

  void fresh_connection();
  void connect();
  void on_connect(error_code ec);
  // Through a proxy: CONNECT, then TLS (or plain HTTP) inside the tunnel.
  void tunnel();
  void on_tunnel_write(error_code ec);
  void on_tunnel_response();
  void tunnel_failed(error_code ec);
  // The TLS handshake for https://, inside the attempt's deadline.
  void secure();
  void on_handshake(error_code ec);

  // --- the exchange (http_client_exchange.cpp) ------------------------------

  void exchange();
  void on_write(error_code ec);
  // Feeds buffered bytes to the parser; reads more while it needs them. The
  // loop of Beast's http::async_read. Reads the proxy's answer too.
  void parse();
  void read_failed(error_code ec);
  void read_some();
  void on_read_some(error_code ec, std::size_t n);
  void exchange_failed(error_code ec, bool got_response_bytes);

  // --- the outcome (http_client_call.cpp) -----------------------------------

  // A whole response: the connection goes back to the pool (or is closed),
  // then the call retries (5xx, 429) or finishes.
  void on_read();
  void fail_attempt(TransportError error, std::string message, bool retryable = true);
  void schedule_retry(std::optional<std::chrono::milliseconds> wait);
  void finish();
  std::string timeout_text() const;

  std::shared_ptr<ClientCore> core_;
  std::shared_ptr<const ParsedUrl> parsed_;
  const BaseUrl& url_;  // parsed_->url
  std::string key_;
  Origin* origin_ = nullptr;
  CallOptions options_;
  CallCallback done_;
  std::string wire_;  // the request, head and body
  Timer timer_;       // resolve deadline and retry backoff
  std::shared_ptr<Conn> conn_;
  std::optional<ResponseParser> parser_;  // fills last_.response
  std::vector<tcp::endpoint> endpoints_;
  Clock::time_point deadline_;
  CallResult last_;
  State state_ = State::idle;
  std::uint64_t gen_ = 0;
  int attempts_ = 0;
  bool head_ = false;
  bool reused_ = false;
  bool fresh_retry_used_ = false;
};

}  // namespace orch::http::detail
