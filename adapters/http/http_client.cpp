#include "adapters/http/http_client.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <boost/asio/ssl/error.hpp>
#include <openssl/ssl.h>

#include "adapters/http/http_deadline.h"
#include "adapters/http/http_parser.h"
#include "adapters/http/http_stream.h"
#include "adapters/http/http_syntax.h"
#include "adapters/http/http_url.h"
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
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;
using detail::Executor;

constexpr std::chrono::seconds kMaxRetryAfter{30};

// Bounds on a service's answer: a broken or hostile service makes the call
// fail ("too large", not retried) instead of filling memory.
constexpr detail::MessageLimits response_limits() {
  detail::MessageLimits m;
  m.start_line = 8u << 10;
  m.field = 64u << 10;
  m.fields = 256;
  m.header = 64u << 10;
  m.chunk_line = 4u << 10;
  m.trailer = 16u << 10;
  m.body = 8u << 20;
  return m;
}
constexpr detail::MessageLimits kResponseLimits = response_limits();

using syntax::iequals;
using syntax::valid_token;

bool valid_target(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

std::string join_target(const std::string& prefix, const std::string& target) {
  if (target.empty()) return prefix.empty() ? std::string("/") : prefix;
  if (target.front() == '/') return prefix + target;
  if (target.front() == '?') return (prefix.empty() ? std::string("/") : prefix) + target;
  return prefix + "/" + target;
}

// A base URL with what every call to it needs, worked out once.
struct ParsedUrl {
  explicit ParsedUrl(BaseUrl u)
      : url(std::move(u)),
        host_field(url.authority(/*always_port=*/false)),
        origin((url.tls ? "https://" : "") + url.authority(/*always_port=*/true)) {}

  const BaseUrl url;
  const std::string host_field;  // the Host header's value
  const std::string origin;      // scheme (https only), host and port: a pool's key
};

// Base URLs parsed once per thread: services call the same few URLs over and
// over, and Boost.URL's grammar run on every call cost 1.5 % of the engine's
// instructions under the benchmark (callgrind). Failures are not kept.
std::shared_ptr<const ParsedUrl> parse_cached(const std::string& base_url, std::string* error) {
  constexpr std::size_t kMaxCachedUrls = 64;
  thread_local std::unordered_map<std::string, std::shared_ptr<const ParsedUrl>> cache;
  if (auto it = cache.find(base_url); it != cache.end()) return it->second;
  auto url = parse_base_url(base_url, error);
  if (!url) return nullptr;
  if (cache.size() >= kMaxCachedUrls) cache.clear();
  auto parsed = std::make_shared<const ParsedUrl>(std::move(*url));
  cache.emplace(base_url, parsed);
  return parsed;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty() || v.size() > 9) return std::nullopt;
  std::int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return std::chrono::seconds(n);
}

using Clock = std::chrono::steady_clock;
using detail::append_decimal;
using detail::ResponseParser;
using detail::Socket;
using detail::Timer;
using detail::trim_ows;

// A pooled keep-alive connection, plain or TLS, with its deadline
// (detail::Deadline): one timer serves every operation of a call (connect,
// proxy tunnel, handshake, write, reads), and an operation pending when it
// passes fails (the socket is closed and `timed_out` set).
struct Conn : std::enable_shared_from_this<Conn> {
  // `tls` null: plain TCP. The context and `session` are the origin's.
  Conn(const Executor& ex, asio::ssl::context* tls, std::shared_ptr<detail::TlsSessionSlot> session)
      : session(std::move(session)),
        stream(ex, tls),
        deadline(ex, *this),
        buffer(detail::read_buffer_limit(kResponseLimits)) {}

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
    error_code ignored;
    socket().close(ignored);  // the pending operation completes with an error
  }

  Socket& socket() { return stream.socket(); }

  // We end the connection on purpose, after a complete exchange: over TLS,
  // OpenSSL would take the missing close_notify for a truncation attack and
  // never offer the session again (SSL_free marks it not resumable), so
  // every new connection would pay a full handshake. No bytes are sent.
  void end_on_purpose() {
    if (detail::TlsStream* tls = stream.tls())
      SSL_set_shutdown(tls->native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  }

  void close() {
    end_on_purpose();
    error_code ec;
    socket().shutdown(tcp::socket::shutdown_both, ec);
    socket().close(ec);
  }

  // Where the TLS layer leaves sessions: declared first, so it outlives the
  // stream's SSL object.
  std::shared_ptr<detail::TlsSessionSlot> session;
  detail::Stream stream;
  detail::Deadline<Conn> deadline;
  beast::flat_buffer buffer;
  Clock::time_point idle_since{};  // when it went back to the pool
  bool timed_out = false;
};

// True when an idle pooled socket has neither been closed by the peer nor
// received unsolicited bytes (a cheap non-blocking peek; for TLS, the bytes
// of a record, such as the peer's close_notify).
bool idle_socket_usable(Socket& s) {
  if (!s.is_open()) return false;
  char c;
  ssize_t n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n >= 0) return false;  // EOF (0) or stray data (>0)
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

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
  std::string connect_request;                      // the CONNECT request, when tunnelling
  std::shared_ptr<asio::ssl::context> tls;          // https: the settings' context
  std::shared_ptr<detail::TlsSessionSlot> session;  // https: the session to resume

  std::vector<std::shared_ptr<Conn>> idle;
  std::vector<tcp::endpoint> endpoints;  // of connect_host; empty until resolved
  bool literal = false;                  // connect_host is an IP literal
  bool resolving = false;
  std::vector<std::weak_ptr<Call>> waiters;
};

struct ClientCore : std::enable_shared_from_this<ClientCore> {
  ClientCore(asio::io_context& io_, HttpClient::PoolLimits l, ProxyEnvironment p)
      : io(io_),
        ex(io_.get_executor()),
        limits(l),
        proxies(std::move(p)),
        rng(std::random_device{}()) {}

  asio::io_context& io;
  Executor ex;  // the io_context's: it runs on one thread
  HttpClient::PoolLimits limits;
  const ProxyEnvironment proxies;
  std::unordered_map<std::string, Origin> origins;  // never erased: Origin* stay valid
  // One client context per trust setting ("" = the system's store, else the
  // CA file; "!" = no verification), made on first use.
  std::unordered_map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts;
  std::mt19937_64 rng;
  bool shutting_down = false;

  double random01() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }

  Origin& origin(const std::string& key, const BaseUrl& url, const ConnectionSettings* settings) {
    auto [it, inserted] = origins.try_emplace(key);
    if (inserted) set_up(it->second, url, settings);
    return it->second;
  }

  void set_up(Origin& o, const BaseUrl& url, const ConnectionSettings* settings) {
    o.connect_host = url.host;
    o.connect_port = url.port;
    if (url.tls) {
      const bool verify = !(settings && settings->insecure_skip_verify);
      const std::string ca_file = settings ? settings->ca_file : std::string();
      const std::string trust = verify ? ca_file : std::string("!");
      auto& ctx = tls_contexts[trust];
      if (!ctx) {
        std::string error;
        ctx = detail::make_client_context(ca_file, verify, &error);
        if (!ctx) {
          o.setup_failure = TransportError::tls;
          o.setup_error = "tls_config: " + error;
          tls_contexts.erase(trust);
          return;
        }
      }
      o.tls = ctx;
      o.session = std::make_shared<detail::TlsSessionSlot>();
    }
    const std::string& proxy_url =
        settings && settings->proxy ? *settings->proxy : proxies.proxy_for(url.tls);
    const std::string& no_proxy =
        settings && settings->no_proxy ? *settings->no_proxy : proxies.no_proxy;
    if (!proxy_url.empty() && !no_proxy_matches(no_proxy, url.host, url.port)) {
      std::string error;
      o.proxy = parse_proxy_url(proxy_url, &error);
      if (!o.proxy) {
        o.setup_failure = TransportError::bad_url;
        o.setup_error = error;
        return;
      }
      o.connect_host = o.proxy->host;
      o.connect_port = o.proxy->port;
      const std::string target = url.authority(/*always_port=*/true);
      o.connect_request = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n";
      if (!o.proxy->authorization.empty())
        o.connect_request += "Proxy-Authorization: " + o.proxy->authorization + "\r\n";
      o.connect_request += "User-Agent: campaign-orchestrator/0.1\r\n\r\n";
    }
    error_code ec;
    auto addr = asio::ip::make_address(o.connect_host, ec);
    if (!ec) {
      o.literal = true;
      o.endpoints.emplace_back(addr, o.connect_port);
    }
  }

  // A connection back in the pool for less than kFreshIdle is taken without
  // the peek: a server closes an idle connection after seconds of keep-alive,
  // not milliseconds, and if one did, the call's one retry on a fresh
  // connection covers it (a stale reused connection that fails before any
  // response byte). Under load that saves a system call on the engine's
  // thread for nearly every request.
  static constexpr std::chrono::milliseconds kFreshIdle{500};

  std::shared_ptr<Conn> take_idle(Origin& o) {
    while (!o.idle.empty()) {
      auto c = std::move(o.idle.back());
      o.idle.pop_back();
      const bool fresh = Clock::now() - c->idle_since < kFreshIdle;
      if (fresh ? c->socket().is_open() : idle_socket_usable(c->socket())) return c;
      c->close();
    }
    return nullptr;
  }

  void give_back(Origin& o, std::shared_ptr<Conn> c) {
    c->unwatch();
    if (shutting_down || static_cast<int>(o.idle.size()) >= limits.max_idle_per_origin) {
      c->close();
      return;
    }
    c->idle_since = Clock::now();
    o.idle.push_back(std::move(c));
  }

  void close_idle() {
    for (auto& [key, o] : origins) {
      for (auto& c : o.idle) c->close();
      o.idle.clear();
    }
  }

  void on_resolved(const std::string& key, error_code ec, tcp::resolver::results_type results);
};

class Call : public std::enable_shared_from_this<Call> {
 public:
  Call(std::shared_ptr<ClientCore> core, std::shared_ptr<const ParsedUrl> parsed,
       CallOptions options, CallCallback done)
      : core_(std::move(core)),
        parsed_(std::move(parsed)),
        url_(parsed_->url),
        options_(std::move(options)),
        done_(std::move(done)),
        timer_(core_->ex) {
    // The pool key: scheme, host and port, and the connection settings.
    key_.reserve(parsed_->origin.size() + 48);
    key_ += parsed_->origin;
    if (options_.connection) {
      key_ += '|';
      options_.connection->append_key(key_);
    }
  }

  // The serialised request (head and body) and whether it is a HEAD.
  void set_wire(std::string wire, bool head) {
    wire_ = std::move(wire);
    head_ = head;
  }

  void start_attempt() {
    ++attempts_;
    fresh_retry_used_ = false;
    deadline_ = Clock::now() + options_.timeout;
    Origin& o = origin();
    if (!o.setup_error.empty()) return fail_attempt(o.setup_failure, o.setup_error, false);
    if (auto c = core_->take_idle(o)) {
      conn_ = std::move(c);
      reused_ = true;
      exchange();
      return;
    }
    fresh_connection();
  }

  void on_resolved(error_code ec) {
    if (state_ != State::resolving) return;
    timer_.cancel();
    if (ec) {
      return fail_attempt(TransportError::connect,
                          "cannot resolve " + origin().connect_host + ": " + ec.message());
    }
    connect();
  }

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
  std::string where() {
    const Origin& o = origin();
    std::string out = parsed_->origin;
    if (o.proxy) out += " via proxy " + o.proxy->address();
    return out;
  }

  // Beast fails an operation started after its deadline at once.
  bool past_deadline() const { return Clock::now() >= deadline_; }

  // The error an operation on conn_ completed with, as Beast's tcp_stream
  // reports it (a timeout, not the abort the deadline's close caused).
  error_code op_error(error_code ec) const {
    if (conn_ && conn_->timed_out) return beast::error::timeout;
    return ec;
  }

  void fresh_connection() {
    reused_ = false;
    Origin& o = origin();
    if (!o.endpoints.empty()) return connect();
    state_ = State::resolving;
    std::uint64_t gen = ++gen_;
    o.waiters.push_back(weak_from_this());
    timer_.expires_at(deadline_);
    timer_.async_wait([self = shared_from_this(), gen](error_code ec) {
      if (ec || self->state_ != State::resolving || self->gen_ != gen) return;
      self->fail_attempt(TransportError::timeout,
                         "timed out resolving " + self->origin().connect_host);
    });
    if (!o.resolving) {
      o.resolving = true;
      auto resolver = std::make_shared<tcp::resolver>(core_->ex);
      auto* r = resolver.get();
      r->async_resolve(o.connect_host, std::to_string(o.connect_port),
                       [core = core_, resolver = std::move(resolver), key = key_](
                           error_code ec, tcp::resolver::results_type results) {
                         core->on_resolved(key, ec, std::move(results));
                       });
    }
  }

  void connect() {
    state_ = State::connecting;
    Origin& o = origin();
    endpoints_ = o.endpoints;
    conn_ = std::make_shared<Conn>(core_->ex, o.tls.get(), o.session);
    if (past_deadline()) return on_connect(beast::error::timeout);
    conn_->watch(deadline_);
    asio::async_connect(conn_->socket(), endpoints_,
                        [self = shared_from_this()](error_code ec, const tcp::endpoint&) {
                          self->on_connect(self->op_error(ec));
                        });
  }

  void on_connect(error_code ec) {
    if (ec) {
      conn_.reset();
      if (ec == beast::error::timeout) {
        return fail_attempt(TransportError::timeout,
                            "timed out connecting to " + where() + " after " + timeout_text());
      }
      Origin& o = origin();
      if (!o.literal) o.endpoints.clear();  // resolve again next time
      return fail_attempt(TransportError::connect,
                          "connect to " + where() + " failed: " + ec.message());
    }
    error_code ignored;
    conn_->socket().set_option(tcp::no_delay(true), ignored);
    if (origin().proxy) return tunnel();
    secure();
  }

  // Through a proxy: CONNECT, then TLS (or plain HTTP) inside the tunnel.
  void tunnel() {
    state_ = State::tunnelling;
    if (past_deadline()) return tunnel_failed(beast::error::timeout);
    conn_->watch(deadline_);
    const std::string& request = origin().connect_request;
    asio::async_write(conn_->socket(), asio::buffer(request),
                      [self = shared_from_this()](error_code ec, std::size_t) {
                        self->on_tunnel_write(self->op_error(ec));
                      });
  }

  void on_tunnel_write(error_code ec) {
    if (ec) return tunnel_failed(ec);
    last_ = CallResult{};
    parser_.emplace(last_.response, kResponseLimits);
    parser_->eager(true);
    parser_->skip(true);  // a 2xx answer to CONNECT has no body (RFC 9110 9.3.6)
    parse();
  }

  void on_tunnel_response() {
    const int status = last_.response.status;
    parser_.reset();
    last_ = CallResult{};
    if (status < 200 || status > 299) {
      conn_.reset();
      return fail_attempt(TransportError::connect,
                          "proxy " + origin().proxy->address() + " refused to tunnel to " +
                              url_.authority(true) + ": HTTP " + std::to_string(status));
    }
    if (conn_->buffer.size() != 0) {  // bytes from the origin before we spoke
      conn_.reset();
      return fail_attempt(TransportError::connect,
                          "proxy " + origin().proxy->address() + " sent data after its answer");
    }
    secure();
  }

  void tunnel_failed(error_code ec) {
    parser_.reset();
    conn_.reset();
    if (ec == beast::error::timeout)
      return fail_attempt(TransportError::timeout,
                          "timed out opening a tunnel to " + where() + " after " + timeout_text());
    fail_attempt(TransportError::connect, "tunnel to " + where() + " failed: " + ec.message());
  }

  // The TLS handshake for https://, inside the attempt's deadline.
  void secure() {
    detail::TlsStream* tls = conn_->stream.tls();
    if (!tls) return exchange();
    state_ = State::handshaking;
    Origin& o = origin();
    const bool verify = !(options_.connection && options_.connection->insecure_skip_verify);
    if (!detail::prepare_client(tls->native_handle(), url_, verify, *o.session)) {
      conn_.reset();
      return fail_attempt(TransportError::tls, "tls_handshake: cannot set up TLS for " + url_.host,
                          /*retryable=*/false);
    }
    if (past_deadline()) return on_handshake(beast::error::timeout);
    conn_->watch(deadline_);
    tls->async_handshake(
        asio::ssl::stream_base::client,
        [self = shared_from_this()](error_code ec) { self->on_handshake(self->op_error(ec)); });
  }

  void on_handshake(error_code ec) {
    if (!ec) return exchange();
    Origin& o = origin();
    o.session->clear();  // resume nothing the failure may have come from
    const std::string tls =
        ec == beast::error::timeout
            ? std::string()
            : detail::classify_handshake_failure(ec, conn_->stream.tls()->native_handle(), url_);
    conn_.reset();
    if (ec == beast::error::timeout)
      return fail_attempt(TransportError::timeout,
                          "TLS handshake with " + where() + " timed out after " + timeout_text());
    if (!tls.empty())
      return fail_attempt(TransportError::tls, tls + " (connecting to " + where() + ")",
                          /*retryable=*/false);
    // The connection closed or broke mid-handshake: a connection error.
    fail_attempt(TransportError::connect,
                 "TLS handshake with " + where() + " failed: " + ec.message());
  }

  void exchange() {
    state_ = State::exchanging;
    if (past_deadline()) return exchange_failed(beast::error::timeout, false);
    conn_->watch(deadline_);
    conn_->stream.visit([&](auto& stream) {
      asio::async_write(stream, asio::buffer(wire_),
                        [self = shared_from_this()](error_code ec, std::size_t) {
                          self->on_write(self->op_error(ec));
                        });
    });
  }

  void on_write(error_code ec) {
    if (ec) return exchange_failed(ec, false);
    last_ = CallResult{};
    parser_.emplace(last_.response, kResponseLimits);
    parser_->eager(true);
    if (head_) parser_->skip(true);
    parse();
  }

  // Feeds buffered bytes to the parser; reads more while it needs them. The
  // loop of Beast's http::async_read. Reads the proxy's answer too.
  void parse() {
    beast::flat_buffer& buffer = conn_->buffer;
    for (;;) {
      if (buffer.size() > 0) {
        error_code ec;
        std::size_t used = parser_->put(buffer.data(), ec);
        buffer.consume(used);
        if (ec && ec != bhttp::error::need_more) return read_failed(parser_->refine(ec));
        if (!ec) {
          if (parser_->is_done())
            return state_ == State::tunnelling ? on_tunnel_response() : on_read();
          if (used > 0 && buffer.size() > 0) continue;
        }
      }
      return read_some();
    }
  }

  void read_failed(error_code ec) {
    if (state_ == State::tunnelling) return tunnel_failed(ec);
    exchange_failed(ec, parser_->got_some());
  }

  void read_some() {
    if (past_deadline()) return read_failed(beast::error::timeout);
    beast::flat_buffer& buffer = conn_->buffer;
    std::size_t size = detail::read_size(buffer);
    if (size == 0) return read_failed(parser_->refine(bhttp::error::buffer_overflow));  // full
    auto on_read = [self = shared_from_this()](error_code ec, std::size_t n) {
      self->on_read_some(self->op_error(ec), n);
    };
    if (state_ == State::tunnelling) {
      // The proxy's answer comes in the clear, before any TLS.
      conn_->socket().async_read_some(buffer.prepare(size), std::move(on_read));
      return;
    }
    conn_->stream.visit(
        [&](auto& stream) { stream.async_read_some(buffer.prepare(size), std::move(on_read)); });
  }

  void on_read_some(error_code ec, std::size_t n) {
    conn_->buffer.commit(n);
    if (state_ == State::tunnelling) {
      if (ec == asio::error::eof) ec = bhttp::error::end_of_stream;
      if (ec) return tunnel_failed(ec);
      return parse();
    }
    // A TLS peer that closes without close_notify (stream_truncated) has
    // ended the stream as far as a response framed by its own length goes.
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      if (parser_->got_some()) {
        error_code eof_ec;
        parser_->put_eof(eof_ec);
        if (eof_ec) return exchange_failed(eof_ec, true);
        // A body read to the end of the stream: only a clean end proves it whole.
        if (ec == asio::ssl::error::stream_truncated) return exchange_failed(ec, true);
        return on_read();
      }
      return exchange_failed(bhttp::error::end_of_stream, false);
    }
    if (ec) return exchange_failed(ec, parser_->got_some());
    parse();
  }

  void exchange_failed(error_code ec, bool got_response_bytes) {
    conn_.reset();
    if (ec == beast::error::timeout) {
      parser_.reset();
      return fail_attempt(TransportError::timeout,
                          "request to " + where() + " timed out after " + timeout_text());
    }
    if (reused_ && !fresh_retry_used_ && !got_response_bytes) {
      // The pooled connection was stale (closed by the peer while idle):
      // try once more on a fresh connection; this is not a new attempt.
      parser_.reset();
      fresh_retry_used_ = true;
      return fresh_connection();
    }
    bool too_large = ec == bhttp::error::body_limit || detail::is_limit_error(ec);
    // Framing a recipient could misread (an unknown transfer coding, both
    // lengths): the same answer would come again.
    bool ambiguous = detail::is_framing_error(ec);
    parser_.reset();
    fail_attempt(TransportError::io,
                 (too_large   ? "response from " + where() + " too large: "
                  : ambiguous ? "response from " + where() + " not framed by RFC 9112: "
                              : "connection to " + where() + " failed: ") +
                     ec.message(),
                 /*retryable=*/!too_large && !ambiguous);
  }

  void on_read() {
    bool reusable = !parser_->message_need_eof() && conn_->buffer.size() == 0;
    parser_.reset();
    if (reusable) {
      core_->give_back(origin(), std::move(conn_));
    } else {
      conn_->unwatch();
      conn_->close();
      conn_.reset();
    }

    last_.error = TransportError::none;
    const int status = last_.response.status;
    bool retryable = (status >= 500 && status <= 599) || status == 429;
    if (retryable && attempts_ <= options_.max_retries) {
      std::optional<std::chrono::milliseconds> wait;
      if (status == 429 || status == 503) {
        if (auto ra = last_.response.header("Retry-After")) {
          if (auto secs = parse_retry_after(*ra)) {
            wait = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::min<std::chrono::seconds>(*secs, kMaxRetryAfter));
          }
        }
      }
      return schedule_retry(wait);
    }
    finish();
  }

  void fail_attempt(TransportError error, std::string message, bool retryable = true) {
    last_ = CallResult{};
    last_.error = error;
    last_.error_message = std::move(message);
    if (retryable && attempts_ <= options_.max_retries) return schedule_retry(std::nullopt);
    finish();
  }

  void schedule_retry(std::optional<std::chrono::milliseconds> wait) {
    state_ = State::waiting;
    ++gen_;
    auto delay = wait ? *wait : full_jitter_backoff(options_, attempts_, core_->random01());
    timer_.expires_after(delay);
    timer_.async_wait([self = shared_from_this()](error_code) { self->start_attempt(); });
  }

  void finish() {
    state_ = State::done;
    ++gen_;
    last_.attempts = attempts_;
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(last_));
  }

  std::string timeout_text() const {
    return std::to_string(options_.timeout.count()) + " ms";
  }

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

void ClientCore::on_resolved(const std::string& key, error_code ec,
                             tcp::resolver::results_type results) {
  auto it = origins.find(key);
  if (it == origins.end()) return;
  Origin& o = it->second;
  o.resolving = false;
  if (!ec) {
    o.endpoints.clear();
    for (const auto& entry : results) o.endpoints.push_back(entry.endpoint());
    if (o.endpoints.empty()) ec = asio::error::host_not_found;
  }
  auto waiters = std::move(o.waiters);
  o.waiters.clear();
  for (auto& w : waiters) {
    if (auto call = w.lock()) call->on_resolved(ec);
  }
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

// Serialises the request exactly as Beast's serializer wrote the message the
// previous implementation built: the caller's headers in order (values
// trimmed), then Host, User-Agent, Connection, Content-Type and
// Content-Length as needed, a blank line and the body. Returns an error
// message when the request cannot be sent as given (never echoing header
// values).
std::string build_request(std::string& out, bool& head, const ParsedUrl& url, const Request& in) {
  if (!valid_token(in.method)) return "invalid HTTP method";
  std::string target = join_target(url.url.prefix, in.target);
  if (!valid_target(target)) return "invalid request target";
  out.clear();
  std::size_t header_bytes = 0;
  for (const auto& [name, value] : in.headers) header_bytes += name.size() + value.size() + 4;
  out.reserve(in.method.size() + target.size() + header_bytes + 160 + in.body.size());
  out += in.method;
  out += ' ';
  out += target;
  out += " HTTP/1.1\r\n";
  bool has_host = false, has_user_agent = false, has_content_type = false;
  for (const auto& [name, value] : in.headers) {
    if (!valid_token(name)) return "invalid request header name";
    if (!syntax::valid_field_value(value)) return "invalid value for request header '" + name + "'";
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
        iequals(name, "connection")) {
      continue;
    }
    if (iequals(name, "host")) has_host = true;
    if (iequals(name, "user-agent")) has_user_agent = true;
    if (iequals(name, "content-type")) has_content_type = true;
    append_field(out, name, trim_ows(value));
  }
  if (!has_host) {
    out += "Host: ";
    out += url.host_field;
    out += "\r\n";
  }
  if (!has_user_agent) out += "User-Agent: campaign-orchestrator/0.1\r\n";
  out += "Connection: keep-alive\r\n";
  bool sends_body = !in.body.empty() || in.method == "POST" || in.method == "PUT" ||
                    in.method == "PATCH";
  if (!in.body.empty() && !has_content_type) out += "Content-Type: application/json\r\n";
  if (sends_body) {
    out += "Content-Length: ";
    append_decimal(out, in.body.size());
    out += "\r\n";
  }
  out += "\r\n";
  out += in.body;
  head = in.method == "HEAD";
  return {};
}

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
