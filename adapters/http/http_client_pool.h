// The HttpClient's connections and where they go: the pooled keep-alive
// connection (Conn), each origin's route and idle pool (Origin), and what
// every call shares (ClientCore). Internal to the client
// (adapters/http/http_client*.cpp).
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/system/error_code.hpp>

#include "adapters/http/http_client.h"
#include "adapters/http/http_deadline.h"
#include "adapters/http/http_parser.h"
#include "adapters/http/http_proxy.h"
#include "adapters/http/http_stream.h"
#include "adapters/http/http_url.h"
#include "adapters/http/tls_context.h"

namespace orch::http::detail {

// Bounds on a service's answer: a broken or hostile service makes the call
// fail ("too large", not retried) instead of filling memory.
constexpr MessageLimits response_limits() {
  MessageLimits m;
  m.start_line = 8u << 10;
  m.field = 64u << 10;
  m.fields = 256;
  m.header = 64u << 10;
  m.chunk_line = 4u << 10;
  m.trailer = 16u << 10;
  m.body = 8u << 20;
  return m;
}
inline constexpr MessageLimits kResponseLimits = response_limits();

// A pooled keep-alive connection, plain or TLS, with its deadline
// (detail::Deadline): one timer serves every operation of a call (connect,
// proxy tunnel, handshake, write, reads), and an operation pending when it
// passes fails (the socket is closed and `timed_out` set).
struct Conn : std::enable_shared_from_this<Conn> {
  using Clock = std::chrono::steady_clock;

  // `tls` null: plain TCP. The context and `session` are the origin's.
  Conn(const Executor& ex, boost::asio::ssl::context* tls, std::shared_ptr<TlsSessionSlot> session)
      : session(std::move(session)),
        stream(ex, tls),
        deadline(ex, *this),
        buffer(read_buffer_limit(kResponseLimits)) {}

  // An operation bounded by `at` is about to start.
  void watch(Clock::time_point at) {
    deadline.expires_at(at);
    deadline.pending(true);
  }
  // The operations of a call are over (the connection is idle or closing).
  // The timer is cancelled: an idle connection leaves no work pending on the
  // io_context (run() returns once the calls are done, as with Beast).
  void unwatch() { deadline.cancel(); }

  void on_deadline() {
    timed_out = true;
    boost::system::error_code ignored;
    socket().close(ignored);  // the pending operation completes with an error
  }

  Socket& socket() { return stream.socket(); }

  // We end the connection on purpose, after a complete exchange: over TLS,
  // OpenSSL would take the missing close_notify for a truncation attack and
  // never offer the session again (SSL_free marks it not resumable), so
  // every new connection would pay a full handshake. No bytes are sent.
  void end_on_purpose() {
    if (TlsStream* tls = stream.tls())
      SSL_set_shutdown(tls->native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  }

  void close() {
    end_on_purpose();
    boost::system::error_code ec;
    socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    socket().close(ec);
  }

  // Where the TLS layer leaves sessions: declared first, so it outlives the
  // stream's SSL object.
  std::shared_ptr<TlsSessionSlot> session;
  Stream stream;
  Deadline<Conn> deadline;
  boost::beast::flat_buffer buffer;
  Clock::time_point idle_since{};  // when it went back to the pool
  bool timed_out = false;
};

class Call;

// Everything about one origin (scheme, host, port and connection settings):
// how to reach it, decided when its first call starts, and its pool.
struct Origin {
  // Constant after set-up.
  std::string setup_error;  // non-empty: every call fails with it, never retried
  TransportError setup_failure = TransportError::none;
  std::string connect_host;  // the origin's host, or the proxy's
  std::uint16_t connect_port = 0;
  std::optional<ProxyServer> proxy;
  std::string connect_request;                     // the CONNECT request, when tunnelling
  std::shared_ptr<boost::asio::ssl::context> tls;  // https: the settings' context
  std::shared_ptr<TlsSessionSlot> session;         // https: the session to resume

  std::vector<std::shared_ptr<Conn>> idle;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints;  // of connect_host; empty until resolved
  bool literal = false;                                   // connect_host is an IP literal
  bool resolving = false;
  std::vector<std::weak_ptr<Call>> waiters;
};

// What the calls of one HttpClient share: its io_context, its origins with
// their pools, and its TLS contexts. Used on the io_context's thread only
// (http_client_pool.cpp).
struct ClientCore : std::enable_shared_from_this<ClientCore> {
  using Clock = std::chrono::steady_clock;
  using error_code = boost::system::error_code;
  using tcp = boost::asio::ip::tcp;

  ClientCore(boost::asio::io_context& io_, HttpClient::PoolLimits l, ProxyEnvironment p)
      : io(io_),
        ex(io_.get_executor()),
        limits(l),
        proxies(std::move(p)),
        rng(std::random_device{}()) {}

  boost::asio::io_context& io;
  Executor ex;  // the io_context's: it runs on one thread
  HttpClient::PoolLimits limits;
  const ProxyEnvironment proxies;
  std::unordered_map<std::string, Origin> origins;  // never erased: Origin* stay valid
  // One client context per trust setting ("" = the system's store, else the
  // CA file; "!" = no verification), made on first use.
  std::unordered_map<std::string, std::shared_ptr<boost::asio::ssl::context>> tls_contexts;
  std::mt19937_64 rng;
  bool shutting_down = false;

  double random01() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }

  Origin& origin(const std::string& key, const BaseUrl& url, const ConnectionSettings* settings) {
    auto [it, inserted] = origins.try_emplace(key);
    if (inserted) set_up(it->second, url, settings);
    return it->second;
  }

  // Decides how `o` is reached: its TLS context and session, the proxy (and
  // its CONNECT request) unless NO_PROXY exempts it, and its endpoint when
  // the host is an IP literal. A failure is kept in o.setup_error.
  void set_up(Origin& o, const BaseUrl& url, const ConnectionSettings* settings);

  // A connection back in the pool for less than kFreshIdle is taken without
  // the peek: a server closes an idle connection after seconds of keep-alive,
  // not milliseconds, and if one did, the call's one retry on a fresh
  // connection covers it (a stale reused connection that fails before any
  // response byte). Under load that saves a system call on the engine's
  // thread for nearly every request.
  static constexpr std::chrono::milliseconds kFreshIdle{500};

  // An idle connection of `o` still usable, or null.
  std::shared_ptr<Conn> take_idle(Origin& o);
  // Returns `c` to the pool of `o`, or closes it when the pool is full or
  // the client is shutting down.
  void give_back(Origin& o, std::shared_ptr<Conn> c);
  void close_idle();

  // The resolution of origins[key]'s host: the waiting calls go on.
  void on_resolved(const std::string& key, error_code ec, tcp::resolver::results_type results);
};

}  // namespace orch::http::detail
