#include "adapters/http_client.h"

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

#include "adapters/http_parser.h"
#include "adapters/http_syntax.h"

namespace orch::http {

const char* to_string(TransportError e) {
  switch (e) {
    case TransportError::none: return "none";
    case TransportError::timeout: return "timeout";
    case TransportError::connect: return "connect";
    case TransportError::io: return "io";
    case TransportError::bad_url: return "bad_url";
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

struct Url {
  std::string host;  // without brackets
  std::uint16_t port = 80;
  std::string prefix;  // "" or "/something" without trailing slash
  bool ipv6 = false;
};

std::optional<Url> parse_url(std::string_view url, std::string& error) {
  constexpr std::string_view kHttp = "http://";
  if (url.size() < kHttp.size() || !iequals(url.substr(0, kHttp.size()), kHttp)) {
    error = url.size() >= 8 && iequals(url.substr(0, 8), "https://")
                ? "https is not supported"
                : "base URL must start with http://";
    return std::nullopt;
  }
  std::string_view rest = url.substr(kHttp.size());
  auto end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view path = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (!path.empty() && path.front() != '/') {
    error = "base URL must not contain a query or fragment";
    return std::nullopt;
  }
  if (path.find_first_of("?#") != std::string_view::npos) {
    error = "base URL must not contain a query or fragment";
    return std::nullopt;
  }
  if (!valid_target(path)) {
    error = "base URL path contains invalid characters";
    return std::nullopt;
  }
  if (authority.find('@') != std::string_view::npos) {
    error = "base URL must not contain user info";
    return std::nullopt;
  }
  Url out;
  std::string_view port_part;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "unterminated IPv6 literal in base URL";
      return std::nullopt;
    }
    out.host = std::string(authority.substr(1, close - 1));
    out.ipv6 = true;
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "bad authority in base URL";
        return std::nullopt;
      }
      port_part = after.substr(1);
      if (port_part.empty()) {
        error = "empty port in base URL";
        return std::nullopt;
      }
    }
  } else {
    auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      port_part = authority.substr(colon + 1);
      authority = authority.substr(0, colon);
      if (port_part.empty()) {
        error = "empty port in base URL";
        return std::nullopt;
      }
    }
    out.host = std::string(authority);
  }
  if (out.host.empty()) {
    error = "missing host in base URL";
    return std::nullopt;
  }
  for (char c : out.host) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '/' || c == '\\') {
      error = "invalid host in base URL";
      return std::nullopt;
    }
  }
  if (!port_part.empty()) {
    if (port_part.size() > 5 ||
        !std::all_of(port_part.begin(), port_part.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      error = "invalid port in base URL";
      return std::nullopt;
    }
    unsigned long p = std::stoul(std::string(port_part));
    if (p == 0 || p > 65535) {
      error = "invalid port in base URL";
      return std::nullopt;
    }
    out.port = static_cast<std::uint16_t>(p);
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.prefix = std::string(path);
  return out;
}

std::string join_target(const std::string& prefix, const std::string& target) {
  if (target.empty()) return prefix.empty() ? std::string("/") : prefix;
  if (target.front() == '/') return prefix + target;
  if (target.front() == '?') return (prefix.empty() ? std::string("/") : prefix) + target;
  return prefix + "/" + target;
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

// A pooled keep-alive connection with its deadline. Like beast::tcp_stream,
// an operation pending when the deadline passes fails (the socket is closed
// and `timed_out` set); unlike it, one timer wait serves every operation of
// a call (connect, write, reads) instead of one per operation.
struct Conn : std::enable_shared_from_this<Conn> {
  explicit Conn(const Executor& ex)
      : socket(ex), timer(ex), buffer(detail::read_buffer_limit(kResponseLimits)) {}

  // An operation bounded by `at` is about to start.
  void watch(Clock::time_point at) {
    deadline = at;
    pending = true;
    if (!armed || at < armed_at) arm();
  }
  // The operations of a call are over (the connection is idle or closing).
  // The timer is cancelled: an idle connection leaves no work pending on the
  // io_context (run() returns once the calls are done, as with Beast).
  void unwatch() {
    pending = false;
    if (armed) {
      armed = false;
      ++gen;
      timer.cancel();
    }
  }

  void arm() {
    armed = true;
    armed_at = deadline;
    timer.expires_at(deadline);
    // A weak reference: the timer never keeps a connection alive.
    timer.async_wait([w = weak_from_this(), g = ++gen](error_code ec) {
      if (auto self = w.lock()) self->on_timer(ec, g);
    });
  }

  void on_timer(error_code ec, std::uint64_t g) {
    if (g != gen) return;  // superseded by a re-arm
    armed = false;
    if (ec || !pending) return;
    if (Clock::now() >= deadline) {
      timed_out = true;
      error_code ignored;
      socket.close(ignored);  // the pending operation completes with an error
      return;
    }
    arm();
  }

  void close() {
    error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }

  Socket socket;
  Timer timer;
  beast::flat_buffer buffer;
  Clock::time_point deadline{};
  Clock::time_point armed_at{};
  Clock::time_point idle_since{};  // when it went back to the pool
  std::uint64_t gen = 0;
  bool armed = false;
  bool pending = false;
  bool timed_out = false;
};

// True when an idle pooled socket has neither been closed by the peer nor
// received unsolicited bytes (a cheap non-blocking peek).
bool idle_socket_usable(Socket& s) {
  if (!s.is_open()) return false;
  char c;
  ssize_t n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n >= 0) return false;  // EOF (0) or stray data (>0)
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

class Call;

struct Origin {
  std::vector<std::shared_ptr<Conn>> idle;
  std::vector<tcp::endpoint> endpoints;  // empty until resolved
  bool literal = false;                  // host is an IP literal
  bool resolving = false;
  std::vector<std::weak_ptr<Call>> waiters;
};

struct ClientCore : std::enable_shared_from_this<ClientCore> {
  ClientCore(asio::io_context& io_, HttpClient::PoolLimits l)
      : io(io_), ex(io_.get_executor()), limits(l), rng(std::random_device{}()) {}

  asio::io_context& io;
  Executor ex;  // the io_context's: it runs on one thread
  HttpClient::PoolLimits limits;
  std::unordered_map<std::string, Origin> origins;  // never erased: Origin* stay valid
  std::mt19937_64 rng;
  bool shutting_down = false;

  double random01() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }

  Origin& origin(const std::string& key, const std::string& host) {
    auto [it, inserted] = origins.try_emplace(key);
    if (inserted) {
      error_code ec;
      auto addr = asio::ip::make_address(host, ec);
      if (!ec) {
        it->second.literal = true;
        // The port is filled in by the caller (connect()).
        it->second.endpoints.emplace_back(addr, 0);
      }
    }
    return it->second;
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
      if (fresh ? c->socket.is_open() : idle_socket_usable(c->socket)) return c;
      error_code ec;
      c->socket.close(ec);
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
  Call(std::shared_ptr<ClientCore> core, Url url, CallOptions options, CallCallback done)
      : core_(std::move(core)),
        url_(std::move(url)),
        options_(options),
        done_(std::move(done)),
        timer_(core_->ex) {
    key_.reserve(url_.host.size() + 8);
    if (url_.ipv6) key_ += '[';
    key_ += url_.host;
    if (url_.ipv6) key_ += ']';
    key_ += ':';
    append_decimal(key_, url_.port);
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
                          "cannot resolve " + url_.host + ": " + ec.message());
    }
    connect();
  }

 private:
  enum class State { idle, resolving, connecting, exchanging, waiting, done };

  Origin& origin() {
    if (!origin_) origin_ = &core_->origin(key_, url_.host);
    return *origin_;
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
                         "timed out resolving " + self->url_.host);
    });
    if (!o.resolving) {
      o.resolving = true;
      auto resolver = std::make_shared<tcp::resolver>(core_->ex);
      auto* r = resolver.get();
      r->async_resolve(url_.host, std::to_string(url_.port),
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
    if (o.literal) {
      for (auto& ep : endpoints_) ep.port(url_.port);
    }
    conn_ = std::make_shared<Conn>(core_->ex);
    if (past_deadline()) return on_connect(beast::error::timeout);
    conn_->watch(deadline_);
    asio::async_connect(conn_->socket, endpoints_,
                        [self = shared_from_this()](error_code ec, const tcp::endpoint&) {
                          self->on_connect(self->op_error(ec));
                        });
  }

  void on_connect(error_code ec) {
    if (ec) {
      conn_.reset();
      if (ec == beast::error::timeout) {
        return fail_attempt(TransportError::timeout, "timed out connecting to " + key_ +
                                                         " after " + timeout_text());
      }
      Origin& o = origin();
      if (!o.literal) o.endpoints.clear();  // resolve again next time
      return fail_attempt(TransportError::connect,
                          "connect to " + key_ + " failed: " + ec.message());
    }
    error_code ignored;
    conn_->socket.set_option(tcp::no_delay(true), ignored);
    exchange();
  }

  void exchange() {
    state_ = State::exchanging;
    if (past_deadline()) return exchange_failed(beast::error::timeout, false);
    conn_->watch(deadline_);
    asio::async_write(conn_->socket, asio::buffer(wire_),
                      [self = shared_from_this()](error_code ec, std::size_t) {
                        self->on_write(self->op_error(ec));
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
  // loop of Beast's http::async_read.
  void parse() {
    beast::flat_buffer& buffer = conn_->buffer;
    for (;;) {
      if (buffer.size() > 0) {
        error_code ec;
        std::size_t used = parser_->put(buffer.data(), ec);
        buffer.consume(used);
        if (ec && ec != bhttp::error::need_more)
          return exchange_failed(parser_->refine(ec), parser_->got_some());
        if (!ec) {
          if (parser_->is_done()) return on_read();
          if (used > 0 && buffer.size() > 0) continue;
        }
      }
      return read_some();
    }
  }

  void read_some() {
    if (past_deadline()) return exchange_failed(beast::error::timeout, parser_->got_some());
    beast::flat_buffer& buffer = conn_->buffer;
    std::size_t size = detail::read_size(buffer);
    if (size == 0) {  // the buffer is full
      return exchange_failed(parser_->refine(bhttp::error::buffer_overflow), parser_->got_some());
    }
    conn_->socket.async_read_some(buffer.prepare(size),
                                  [self = shared_from_this()](error_code ec, std::size_t n) {
                                    self->on_read_some(self->op_error(ec), n);
                                  });
  }

  void on_read_some(error_code ec, std::size_t n) {
    conn_->buffer.commit(n);
    if (ec == asio::error::eof) {
      if (parser_->got_some()) {
        error_code eof_ec;
        parser_->put_eof(eof_ec);
        if (eof_ec) return exchange_failed(eof_ec, true);
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
                          "request to " + key_ + " timed out after " + timeout_text());
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
                 (too_large   ? "response from " + key_ + " too large: "
                  : ambiguous ? "response from " + key_ + " not framed by RFC 9112: "
                              : "connection to " + key_ + " failed: ") +
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
      error_code ignored;
      conn_->socket.shutdown(tcp::socket::shutdown_both, ignored);
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
  Url url_;
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
std::string build_request(std::string& out, bool& head, const Url& url, const Request& in) {
  if (!valid_token(in.method)) return "invalid HTTP method";
  std::string target = join_target(url.prefix, in.target);
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
    if (url.ipv6) out += '[';
    out += url.host;
    if (url.ipv6) out += ']';
    if (url.port != 80) {
      out += ':';
      append_decimal(out, url.port);
    }
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

HttpClient::HttpClient(boost::asio::io_context& io, PoolLimits limits)
    : impl_(std::make_shared<Impl>()) {
  impl_->core = std::make_shared<ClientCore>(io, limits);
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
  auto url = parse_url(base_url, error);
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
  auto call = std::make_shared<Call>(std::move(core), std::move(*url), options, std::move(done));
  call->set_wire(std::move(wire), head);
  asio::post(ex, [call = std::move(call)] { call->start_attempt(); });
}

void HttpClient::close_idle() {
  auto core = impl_->core;
  asio::dispatch(core->ex, [core] { core->close_idle(); });
}

}  // namespace orch::http
