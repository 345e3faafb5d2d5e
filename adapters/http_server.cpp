#include "adapters/http_server.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace orch::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

// Upper bounds for the "lingering close" after an error response: the server
// keeps reading (and discarding) what the client is still sending so that the
// client's write completes and it gets to read our 4xx instead of a reset.
constexpr std::chrono::seconds kMaxLinger{5};
constexpr std::size_t kMaxLingerBytes = 64u << 20;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool contains_token_ci(std::string_view haystack, std::string_view token) {
  if (token.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + token.size() <= haystack.size(); ++i) {
    if (iequals(haystack.substr(i, token.size()), token)) return true;
  }
  return false;
}

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
    case '+': case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool valid_header_name(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), is_token_char);
}

bool valid_header_value(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

void append_json_escaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 0xf]);
        } else {
          out.push_back(c);
        }
    }
  }
}

Response problem(int status, std::string_view title, std::string_view detail) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/problem+json");
  std::string body;
  body.reserve(80 + title.size() + detail.size());
  body += R"({"type":"about:blank","title":")";
  append_json_escaped(body, title);
  body += R"(","status":)";
  body += std::to_string(status);
  body += R"(,"detail":")";
  append_json_escaped(body, detail);
  body += "\"}";
  r.body = std::move(body);
  return r;
}

std::string format_endpoint(const tcp::endpoint& ep) {
  std::string addr;
  try {
    addr = ep.address().to_string();
  } catch (const std::exception&) {
    return {};
  }
  if (ep.address().is_v6()) addr = "[" + addr + "]";
  addr += ':';
  addr += std::to_string(ep.port());
  return addr;
}

class Session;

// Everything the sessions share with the server object. Owned by
// HttpServer::Impl and by every live session, so a session never outlives it.
struct ServerCore : std::enable_shared_from_this<ServerCore> {
  ServerCore(asio::io_context& io_, Handler h, ServerLimits l)
      : io(io_), handler(std::move(h)), limits(l), acceptor(asio::make_strand(io_)) {}

  asio::io_context& io;
  Handler handler;
  ServerLimits limits;
  tcp::acceptor acceptor;  // operations serialised by `mu`
  std::uint16_t port = 0;
  bool listening = false;
  std::atomic<bool> stopped{false};

  std::mutex mu;  // guards acceptor operations and sessions
  std::vector<std::weak_ptr<Session>> sessions;
  std::size_t prune_at = 64;

  void do_accept();
  void on_accept(error_code ec, tcp::socket socket);
  void do_stop();
  void track(const std::shared_ptr<Session>& s);
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<ServerCore> core)
      : stream_(std::move(socket)), core_(std::move(core)) {
    error_code ec;
    stream_.socket().set_option(tcp::no_delay(true), ec);
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = format_endpoint(ep);
  }

  void start() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::do_read, shared_from_this()));
  }

  // Must run on the session's strand.
  void close() {
    closed_ = true;
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  auto executor() { return stream_.get_executor(); }

  // Runs on the session's strand: send the handler's response.
  void write_response(Response r);

 private:
  // Tracks the one-shot responder of one request.
  struct Reply {
    explicit Reply(std::shared_ptr<Session> s) : session(std::move(s)) {}
    std::shared_ptr<Session> session;
    std::atomic<bool> done{false};

    void send(Response r) {
      if (done.exchange(true)) return;  // a second call is ignored
      auto s = std::move(session);
      if (!s) return;
      auto ex = s->executor();
      asio::dispatch(ex, [s = std::move(s), r = std::move(r)]() mutable {
        s->write_response(std::move(r));
      });
    }
    // Destroyed unanswered: dropping `session` lets the session (which has no
    // operation pending while it waits) be destroyed, closing the socket.
  };

  void do_read() {
    if (closed_ || core_->stopped.load(std::memory_order_relaxed)) return close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(core_->limits.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(static_cast<std::uint64_t>(core_->limits.max_body_bytes));
    // Waiting for the next request on a kept-alive connection is "idle".
    if (served_ > 0 && buffer_.size() == 0) {
      stream_.expires_after(core_->limits.idle_timeout);
    } else {
      stream_.expires_after(core_->limits.io_timeout);
    }
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::on_header,
                                                       shared_from_this()));
  }

  void on_header(error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    if (parser_->is_done()) return dispatch_request();
    stream_.expires_after(core_->limits.io_timeout);
    auto expect = parser_->get()[bhttp::field::expect];
    if (!expect.empty() && iequals(expect, "100-continue") && parser_->get().version() >= 11) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        beast::bind_front_handler(&Session::on_continue_sent,
                                                  shared_from_this()));
      return;
    }
    read_body();
  }

  void on_continue_sent(error_code ec, std::size_t) {
    if (ec) return close();
    read_body();
  }

  void read_body() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::on_body, shared_from_this()));
  }

  void on_body(error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    dispatch_request();
  }

  void on_read_error(error_code ec) {
    if (closed_) return;
    if (ec.category() == bhttp::make_error_code(bhttp::error::body_limit).category()) {
      switch (static_cast<bhttp::error>(ec.value())) {
        case bhttp::error::end_of_stream:
        case bhttp::error::partial_message:
          return close();
        case bhttp::error::body_limit:
          return write_error(problem(413, "Payload Too Large",
                                     "request body exceeds " +
                                         std::to_string(core_->limits.max_body_bytes) +
                                         " bytes"));
        case bhttp::error::header_limit:
          return write_error(problem(431, "Request Header Fields Too Large",
                                     "request header exceeds " +
                                         std::to_string(core_->limits.max_header_bytes) +
                                         " bytes"));
        default:
          return write_error(problem(400, "Bad Request",
                                     "malformed HTTP request: " + ec.message()));
      }
    }
    // Timeouts, resets, EOF: nothing sensible to answer.
    close();
  }

  void dispatch_request() {
    if (core_->stopped.load(std::memory_order_relaxed)) return close();
    ++served_;
    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    head_ = msg.method() == bhttp::verb::head;

    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    std::size_t n = 0;
    for (auto it = msg.begin(); it != msg.end(); ++it) ++n;
    req.headers.reserve(n);
    for (const auto& f : msg) {
      req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    }
    req.body = std::move(msg.body());
    req.remote = remote_;

    auto reply = std::make_shared<Reply>(shared_from_this());
    try {
      core_->handler(std::move(req), [reply](Response r) { reply->send(std::move(r)); });
    } catch (const std::exception&) {
      reply->send(problem(500, "Internal Server Error", "the request handler failed"));
    } catch (...) {
      reply->send(problem(500, "Internal Server Error", "the request handler failed"));
    }
  }

  // An error response after which the connection is closed.
  void write_error(Response r) {
    keep_alive_ = false;
    linger_ = true;
    head_ = false;
    version_ = 11;
    write_response(std::move(r));
  }

  void on_write(error_code ec, std::size_t) {
    if (ec || closed_) return close();
    bool eof = res_->need_eof();
    res_.reset();
    if (eof) {
      if (linger_) return start_linger();
      error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return close();
    }
    do_read();
  }

  void start_linger() {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    stream_.expires_after(std::min<std::chrono::steady_clock::duration>(
        core_->limits.io_timeout, kMaxLinger));
    buffer_.clear();
    drained_ = 0;
    drain();
  }

  void drain() {
    stream_.async_read_some(
        buffer_.prepare(16 * 1024),
        [self = shared_from_this()](error_code ec, std::size_t n) {
          if (ec || self->closed_) return self->close();
          self->drained_ += n;
          if (self->drained_ > kMaxLingerBytes) return self->close();
          self->drain();
        });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<ServerCore> core_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> res_;
  std::string remote_;
  std::uint64_t served_ = 0;
  std::size_t drained_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_ = false;
  bool linger_ = false;
  bool closed_ = false;
};

void Session::write_response(Response r) {
  if (closed_) return;
  res_.emplace();
  auto& res = *res_;
  unsigned status =
      (r.status >= 100 && r.status <= 999) ? static_cast<unsigned>(r.status) : 500u;
  res.result(status);
  res.version(version_);
  bool keep_alive = keep_alive_ && !core_->stopped.load(std::memory_order_relaxed);
  for (auto& [name, value] : r.headers) {
    if (!valid_header_name(name) || !valid_header_value(value)) continue;
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding")) continue;
    if (iequals(name, "connection")) {
      if (contains_token_ci(value, "close")) keep_alive = false;
      continue;
    }
    res.insert(name, value);
  }
  bool bodyless = (status >= 100 && status < 200) || status == 204 || status == 304;
  if (bodyless) {
    // no payload, no Content-Length
  } else if (head_) {
    res.content_length(r.body.size());
  } else {
    res.content_length(r.body.size());
    res.body() = std::move(r.body);
  }
  res.keep_alive(keep_alive);
  stream_.expires_after(core_->limits.io_timeout);
  bhttp::async_write(stream_, res,
                     beast::bind_front_handler(&Session::on_write, shared_from_this()));
}

void ServerCore::track(const std::shared_ptr<Session>& s) {
  std::lock_guard<std::mutex> lock(mu);
  if (sessions.size() >= prune_at) {
    sessions.erase(std::remove_if(sessions.begin(), sessions.end(),
                                  [](const std::weak_ptr<Session>& w) { return w.expired(); }),
                   sessions.end());
    prune_at = std::max<std::size_t>(64, sessions.size() * 2);
  }
  sessions.push_back(s);
}

void ServerCore::do_accept() {
  std::lock_guard<std::mutex> lock(mu);
  if (stopped.load() || !acceptor.is_open()) return;
  acceptor.async_accept(asio::make_strand(io),
                        beast::bind_front_handler(&ServerCore::on_accept, shared_from_this()));
}

void ServerCore::on_accept(error_code ec, tcp::socket socket) {
  if (stopped.load() || ec == asio::error::operation_aborted) return;
  if (!ec) {
    auto session = std::make_shared<Session>(std::move(socket), shared_from_this());
    track(session);
    session->start();  // a session tracked after do_stop() sees `stopped` and closes
  } else {
    // Errors such as EMFILE are usually transient: retry after a pause
    // instead of spinning.
    auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(50));
    timer->async_wait([self = shared_from_this(), timer](error_code) { self->do_accept(); });
    return;
  }
  do_accept();
}

void ServerCore::do_stop() {
  std::vector<std::weak_ptr<Session>> live;
  {
    std::lock_guard<std::mutex> lock(mu);
    error_code ec;
    acceptor.close(ec);
    live.swap(sessions);
  }
  for (auto& w : live) {
    if (auto s = w.lock()) {
      auto ex = s->executor();
      asio::dispatch(ex, [s = std::move(s)] { s->close(); });
    }
  }
}

}  // namespace

struct HttpServer::Impl {
  std::shared_ptr<ServerCore> core;
};

HttpServer::HttpServer(boost::asio::io_context& io, Handler handler, ServerLimits limits)
    : impl_(std::make_shared<Impl>()) {
  impl_->core = std::make_shared<ServerCore>(io, std::move(handler), limits);
}

HttpServer::~HttpServer() { stop(); }

std::string HttpServer::listen(const std::string& host, std::uint16_t port) {
  auto& core = *impl_->core;
  error_code ec;
  asio::ip::address address;
  if (host.empty()) {
    address = asio::ip::address_v4::any();
  } else {
    address = asio::ip::make_address(host, ec);
    if (ec) {
      tcp::resolver resolver(core.io);
      auto results = resolver.resolve(host, std::to_string(port), ec);
      if (ec || results.empty()) {
        return "cannot resolve listen address '" + host + "': " +
               (ec ? ec.message() : std::string("no addresses"));
      }
      address = results.begin()->endpoint().address();
    }
  }
  tcp::endpoint endpoint(address, port);
  {
    std::lock_guard<std::mutex> lock(core.mu);
    if (core.stopped.load()) return "server is stopped";
    if (core.listening) return "already listening";
    auto& acceptor = core.acceptor;
    auto fail = [&acceptor](std::string what) {
      error_code ignored;
      acceptor.close(ignored);
      return what;
    };
    acceptor.open(endpoint.protocol(), ec);
    if (ec) return "open: " + ec.message();
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (ec) return fail("set_option(reuse_address): " + ec.message());
    acceptor.bind(endpoint, ec);
    if (ec) return fail("bind " + format_endpoint(endpoint) + ": " + ec.message());
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen: " + ec.message());
    auto local = acceptor.local_endpoint(ec);
    if (ec) return fail("local_endpoint: " + ec.message());
    core.port = local.port();
    core.listening = true;
  }
  impl_->core->do_accept();
  return {};
}

std::uint16_t HttpServer::port() const { return impl_->core->port; }

void HttpServer::stop() {
  if (!impl_ || !impl_->core) return;
  auto& core = *impl_->core;
  if (core.stopped.exchange(true)) return;
  // Thread-safe: acceptor operations are serialised by the core's mutex and
  // sessions are closed on their own strands.
  core.do_stop();
}

}  // namespace orch::http
