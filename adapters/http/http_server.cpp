#include "adapters/http/http_server.h"

#include <sys/resource.h>
#include <sys/socket.h>

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
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "adapters/http/http_connection_slots.h"
#include "adapters/http/http_deadline.h"
#include "adapters/http/http_parser.h"
#include "adapters/http/http_stream.h"
#include "adapters/http/http_syntax.h"
#include "adapters/http/problem_details.h"
#include "adapters/http/tls_context.h"

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

using syntax::iequals;

bool contains_token_ci(std::string_view haystack, std::string_view token) {
  if (token.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + token.size() <= haystack.size(); ++i) {
    if (iequals(haystack.substr(i, token.size()), token)) return true;
  }
  return false;
}

Response problem(int status, std::string_view title, std::string_view detail) {
  return problem_response({status, "about:blank", title, detail, {}, {}});
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

using detail::Executor;
using Clock = std::chrono::steady_clock;
using detail::append_decimal;
using detail::RequestParser;
using detail::Socket;
using detail::trim_ows;

// What a connection refused at accept is sent, once, without waiting.
std::string refusal_bytes() {
  const Response r = problem(503, "Service Unavailable", "connection limit reached");
  std::string out = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n";
  out += "Retry-After: 1\r\nConnection: close\r\nContent-Length: ";
  out += std::to_string(r.body.size());
  out += "\r\n\r\n";
  out += r.body;
  return out;
}

// Everything the sessions share with the server object. Owned by
// HttpServer::Impl and by every live session, so a session never outlives it.
struct ServerCore : std::enable_shared_from_this<ServerCore> {
  ServerCore(asio::io_context& io_, Handler h, ServerLimits l)
      : io(io_),
        handler(std::move(h)),
        limits(std::move(l)),
        parse_limits(detail::request_limits(limits)),
        refusal(refusal_bytes()),
        slots(limits.max_connections ? limits.max_connections : default_max_connections(),
              limits.reserved_connections),
        acceptor(io_.get_executor()) {}

  // Constant after construction (on_refused: after listen()).
  asio::io_context& io;
  Handler handler;
  const ServerLimits limits;
  const detail::MessageLimits parse_limits;
  const std::string refusal;
  std::shared_ptr<asio::ssl::context> tls;  // HTTPS only when set (before listen())
  std::function<void(ConnectionRefusal)> on_refused;

  detail::ConnectionSlots slots;  // on the io thread, but for release()
  tcp::acceptor acceptor;  // operations serialised by `mu`
  std::uint16_t port = 0;
  bool listening = false;
  std::atomic<bool> stopped{false};

  std::mutex mu;  // guards acceptor operations and sessions
  std::vector<std::weak_ptr<Session>> sessions;
  std::size_t prune_at = 64;

  void do_accept();
  void on_accept(error_code ec, std::shared_ptr<Session> session);
  void refuse(Socket& socket);
  void count(ConnectionRefusal why) {
    if (on_refused) on_refused(why);
  }
  bool reserve_path(std::string_view path) const {
    return std::find(limits.reserve_paths.begin(), limits.reserve_paths.end(), path) !=
           limits.reserve_paths.end();
  }
  void do_stop();
  void track(const std::shared_ptr<Session>& s);
};

// One connection. All members are used on the io_context's thread only.
//
// A deadline is set before each read or write (detail::Deadline: one lazily
// re-armed timer); nothing times out while the handler is working on a
// request.
//
// A session holds one of the server's connection slots from its admission
// to its close (or destruction), and waits in the slots' list while it has
// no request in progress, so a new connection can take its place.
class Session final : public std::enable_shared_from_this<Session>, private detail::SlotWaiter {
 public:
  Session(Executor ex, std::shared_ptr<ServerCore> core)
      : stream_(ex, core->tls.get()),
        deadline_(ex, *this),
        buffer_(detail::read_buffer_limit(core->parse_limits)),
        core_(std::move(core)) {}

  ~Session() {
    core_->slots.stop_waiting(this);  // only when the io_context is torn down
    release_slot();
  }

  Socket& socket() { return stream_.socket(); }

  // After the accept: the slot it was given, socket options and the peer's
  // address.
  void accepted(bool reserve) {
    holds_slot_ = true;
    reserve_ = reserve;
    error_code ec;
    socket().set_option(tcp::no_delay(true), ec);
    auto ep = socket().remote_endpoint(ec);
    if (!ec) remote_ = format_endpoint(ep);
  }

  void start() {
    asio::dispatch(executor(), [self = shared_from_this()] { self->handshake(); });
  }

  // Must run on the io_context's thread.
  void close() {
    closed_ = true;
    core_->slots.stop_waiting(this);
    release_slot();
    error_code ec;
    socket().shutdown(tcp::socket::shutdown_both, ec);
    socket().close(ec);
    deadline_.cancel();
  }

  Executor executor() { return socket().get_executor(); }

  // The deadline of the pending read or write passed (detail::Deadline).
  void on_deadline() {
    if (!closed_) close();  // the pending operation fails
  }

  // Runs on the io_context's thread: send the handler's response.
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

  // --- connection slot ------------------------------------------------------

  void give_way() override {
    core_->count(ConnectionRefusal::gave_way);
    close();
  }

  void release_slot() {
    if (!holds_slot_) return;
    holds_slot_ = false;
    core_->slots.release();
  }

  // --- TLS ------------------------------------------------------------------

  // An HTTPS connection's handshake, within the header deadline; until its
  // first request starts, the connection may give way like an idle one.
  void handshake() {
    detail::TlsStream* tls = stream_.tls();
    if (!tls) return do_read();
    if (closed_ || core_->stopped.load(std::memory_order_relaxed)) return close();
    deadline_.expires_after(core_->limits.header_timeout);
    core_->slots.wait(this);
    deadline_.pending(true);
    tls->async_handshake(asio::ssl::stream_base::server,
                         [self = shared_from_this()](error_code ec) {
                           self->deadline_.pending(false);
                           if (ec || self->closed_) return self->close();  // nothing to answer
                           self->do_read();
                         });
  }

  // After the last response: TLS's close_notify (RFC 8446 6.1), waiting at
  // most kTlsCloseWait for the peer's, then the TCP close.
  void close_tls() {
    deadline_.expires_after(kTlsCloseWait);
    deadline_.pending(true);
    stream_.tls()->async_shutdown([self = shared_from_this()](error_code) {
      self->deadline_.pending(false);
      self->close();
    });
  }

  // --- reading --------------------------------------------------------------

  void do_read() {
    if (closed_ || core_->stopped.load(std::memory_order_relaxed)) return close();
    req_ = Request{};
    parser_.emplace(req_, core_->parse_limits);
    parser_->eager(false);
    // A new connection has header_timeout to send its request's header;
    // a kept-alive one is idle until the next request's first byte, then
    // has header_timeout for the rest of its header.
    if (served_ > 0 && buffer_.size() == 0) {
      deadline_.expires_after(core_->limits.idle_timeout);
    } else {
      deadline_.expires_after(core_->limits.header_timeout);
    }
    if (buffer_.size() == 0) core_->slots.wait(this);
    reading_body_ = false;
    parse();
  }

  // Feeds buffered bytes to the parser; reads more while it needs them. The
  // loop of Beast's http::async_read_header / async_read.
  void parse() {
    for (;;) {
      if (buffer_.size() > 0) {
        error_code ec;
        std::size_t used = parser_->put(buffer_.data(), ec);
        buffer_.consume(used);
        if (ec && ec != bhttp::error::need_more) return on_read_error(ec);
        if (!ec) {
          if (reading_body_ ? parser_->is_done() : parser_->is_header_done()) {
            return reading_body_ ? on_body() : on_header();
          }
          if (used > 0 && buffer_.size() > 0) continue;
        }
      }
      return read_some();
    }
  }

  void read_some() {
    if (deadline_.passed()) return close();  // a timeout: nothing sensible to answer
    std::size_t size = detail::read_size(buffer_);
    if (size == 0) return on_read_error(bhttp::error::buffer_overflow);  // the buffer is full
    deadline_.pending(true);
    stream_.visit([&](auto& stream) {
      stream.async_read_some(buffer_.prepare(size),
                             [self = shared_from_this()](error_code ec, std::size_t n) {
                               self->deadline_.pending(false);
                               self->on_read_some(ec, n);
                             });
    });
  }

  void on_read_some(error_code ec, std::size_t n) {
    buffer_.commit(n);
    if (closed_) return;
    // EOF (clean or mid-message), timeouts, resets: nothing sensible to
    // answer (Beast's end_of_stream / partial_message / timeout all close).
    if (ec) return close();
    if (n > 0 && waiting()) {
      core_->slots.stop_waiting(this);  // a request has started
      if (served_ > 0) deadline_.expires_after(core_->limits.header_timeout);
    }
    parse();
  }

  void on_header() {
    if (parser_->is_done()) return dispatch_request();
    deadline_.expires_after(core_->limits.io_timeout);
    std::string_view expect = parser_->expect();
    if (!expect.empty() && iequals(expect, "100-continue") && parser_->version() >= 11) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      if (deadline_.passed()) return close();
      deadline_.pending(true);
      stream_.visit([&](auto& stream) {
        asio::async_write(stream, asio::buffer(kContinue.data(), kContinue.size()),
                          [self = shared_from_this()](error_code ec, std::size_t) {
                            self->deadline_.pending(false);
                            if (ec || self->closed_) return self->close();
                            self->read_body();
                          });
      });
      return;
    }
    read_body();
  }

  void read_body() {
    reading_body_ = true;
    parser_->eager(true);
    parse();
  }

  void on_body() { dispatch_request(); }

  void on_read_error(error_code ec) {
    if (closed_) return;
    ec = parser_->refine(ec);
    if (detail::is_message_error(ec)) return write_error(message_problem(ec));
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
        default:
          return write_error(problem(400, "Bad Request",
                                     "malformed HTTP request: " + ec.message()));
      }
    }
    // Timeouts, resets, EOF: nothing sensible to answer.
    close();
  }

  // The answer to a request DirectParser refused: what was over which
  // limit, or which framing rule it broke.
  Response message_problem(error_code ec) const {
    using detail::MessageError;
    const ServerLimits& l = core_->limits;
    auto over = [](std::string_view what, std::size_t limit) {
      return std::string(what) + " exceeds " + std::to_string(limit) + " bytes";
    };
    switch (static_cast<MessageError>(ec.value())) {
      case MessageError::start_line_too_long:
        return problem(414, "URI Too Long", over("request line", l.max_request_line_bytes));
      case MessageError::field_too_long:
        return problem(431, "Request Header Fields Too Large",
                       over("a header field", l.max_field_bytes));
      case MessageError::too_many_fields:
        return problem(431, "Request Header Fields Too Large",
                       "more than " + std::to_string(l.max_header_fields) + " header fields");
      case MessageError::header_too_large:
        return problem(431, "Request Header Fields Too Large",
                       over("request header", l.max_header_bytes));
      case MessageError::chunk_line_too_long:
        return problem(400, "Bad Request", over("chunk-size line", l.max_chunk_line_bytes));
      case MessageError::trailer_too_large:
        return problem(400, "Bad Request", over("trailer section", l.max_trailer_bytes));
      case MessageError::chunk_framing_too_long:
        return problem(400, "Bad Request",
                       over("chunk-size line or trailer section",
                            l.max_chunk_line_bytes + l.max_trailer_bytes));
      default:
        return problem(400, "Bad Request", "malformed HTTP request: " + ec.message());
    }
  }

  void dispatch_request() {
    if (core_->stopped.load(std::memory_order_relaxed)) return close();
    ++served_;
    keep_alive_ = parser_->message_keep_alive();
    version_ = parser_->version();
    head_ = parser_->is_head();
    parser_.reset();
    if (reserve_) {
      // A reserve slot serves one request, and only a probe.
      if (!core_->reserve_path(req_.path())) {
        core_->count(ConnectionRefusal::reserve);
        return write_error(problem(503, "Service Unavailable",
                                   "connection limit reached; only the health, readiness and "
                                   "metrics paths are served"));
      }
      keep_alive_ = false;
    }

    Request req = std::move(req_);
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

  void on_write(error_code ec) {
    if (ec || closed_) return close();
    wbuf_.clear();
    if (wbuf_.capacity() > kMaxKeptWriteBuffer) wbuf_.shrink_to_fit();
    if (write_eof_) {
      if (linger_) return start_linger();
      if (stream_.tls()) return close_tls();
      error_code ignored;
      socket().shutdown(tcp::socket::shutdown_send, ignored);
      return close();
    }
    do_read();
  }

  void start_linger() {
    // Over TLS the write side stays open (a TCP half-close would cut TLS
    // off); the client has the answer, framed by its length, either way.
    if (!stream_.tls()) {
      error_code ec;
      socket().shutdown(tcp::socket::shutdown_send, ec);
      if (ec) return close();
    }
    core_->slots.wait(this);  // answered: it may give way to a new connection
    deadline_.expires_after(
        std::min<std::chrono::steady_clock::duration>(core_->limits.io_timeout, kMaxLinger));
    buffer_.clear();
    drained_ = 0;
    drain();
  }

  void drain() {
    if (deadline_.passed()) return close();
    deadline_.pending(true);
    stream_.visit([&](auto& stream) {
      stream.async_read_some(buffer_.prepare(std::min(kLingerRead, buffer_.max_size())),
                             [self = shared_from_this()](error_code ec, std::size_t n) {
                               self->deadline_.pending(false);
                               if (ec || self->closed_) return self->close();
                               self->drained_ += n;
                               if (self->drained_ > kMaxLingerBytes) return self->close();
                               self->drain();
                             });
    });
  }

  static constexpr std::chrono::seconds kTlsCloseWait{1};
  static constexpr std::size_t kMaxKeptWriteBuffer = 64 * 1024;
  static constexpr std::size_t kLingerRead = 16 * 1024;  // discarded

  detail::Stream stream_;
  detail::Deadline<Session> deadline_;
  beast::flat_buffer buffer_;
  std::shared_ptr<ServerCore> core_;
  std::optional<RequestParser> parser_;
  Request req_;        // filled by parser_
  std::string wbuf_;   // the serialised response (head and body)
  std::string remote_;
  std::uint64_t served_ = 0;
  std::size_t drained_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_ = false;
  bool linger_ = false;
  bool closed_ = false;
  bool reading_body_ = false;
  bool write_eof_ = false;
  bool holds_slot_ = false;
  bool reserve_ = false;  // on a reserve slot: one probe request
};


// Serialises the response exactly as Beast's serializer would write the
// message the previous implementation built: status line, the handler's
// valid headers in order, Content-Length, then the Connection field that
// message::keep_alive(bool) sets, a blank line and the body.
void Session::write_response(Response r) {
  if (closed_) return;
  unsigned status =
      (r.status >= 100 && r.status <= 999) ? static_cast<unsigned>(r.status) : 500u;
  bool keep_alive = keep_alive_ && !core_->stopped.load(std::memory_order_relaxed);
  bool bodyless = (status >= 100 && status < 200) || status == 204 || status == 304;
  std::string& out = wbuf_;
  out.clear();
  beast::string_view reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  out.reserve(64 + reason.size() + r.body.size() + 48 * r.headers.size());
  const char line[] = {'H',
                       'T',
                       'T',
                       'P',
                       '/',
                       static_cast<char>('0' + version_ / 10),
                       '.',
                       static_cast<char>('0' + version_ % 10),
                       ' ',
                       static_cast<char>('0' + status / 100),
                       static_cast<char>('0' + (status / 10) % 10),
                       static_cast<char>('0' + status % 10),
                       ' '};
  out.append(line, sizeof line);
  out.append(reason.data(), reason.size());
  out += "\r\n";
  for (auto& [name, value] : r.headers) {
    if (!syntax::valid_token(name) || !syntax::valid_field_value(value)) continue;
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding")) continue;
    if (iequals(name, "connection")) {
      if (contains_token_ci(value, "close")) keep_alive = false;
      continue;
    }
    out += name;
    out += ": ";
    out += trim_ows(value);
    out += "\r\n";
  }
  if (!bodyless) {
    out += "Content-Length: ";
    append_decimal(out, r.body.size());
    out += "\r\n";
  }
  if (version_ < 11) {
    if (keep_alive) out += "Connection: keep-alive\r\n";
  } else if (!keep_alive) {
    out += "Connection: close\r\n";
  }
  out += "\r\n";
  if (!bodyless && !head_) out += r.body;
  write_eof_ = !keep_alive;
  deadline_.expires_after(core_->limits.io_timeout);
  if (deadline_.passed()) return close();
  deadline_.pending(true);
  stream_.visit([&](auto& stream) {
    asio::async_write(stream, asio::buffer(out),
                      [self = shared_from_this()](error_code ec, std::size_t) {
                        self->deadline_.pending(false);
                        self->on_write(ec);
                      });
  });
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
  auto session = std::make_shared<Session>(io.get_executor(), shared_from_this());
  Socket& socket = session->socket();
  acceptor.async_accept(socket, [self = shared_from_this(), session = std::move(session)](
                                    error_code ec) mutable {
    self->on_accept(ec, std::move(session));
  });
}

void ServerCore::on_accept(error_code ec, std::shared_ptr<Session> session) {
  if (stopped.load() || ec == asio::error::operation_aborted) return;
  if (!ec) {
    const auto admission = slots.admit();
    if (admission == detail::ConnectionSlots::Admission::refused) {
      refuse(session->socket());
      count(ConnectionRefusal::over_limit);
    } else {
      session->accepted(admission == detail::ConnectionSlots::Admission::reserve);
      track(session);
      session->start();  // a session tracked after do_stop() sees `stopped` and closes
    }
  } else {
    // Errors such as EMFILE are usually transient: retry after a pause
    // instead of spinning.
    auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(50));
    timer->async_wait([self = shared_from_this(), timer](error_code) { self->do_accept(); });
    return;
  }
  do_accept();
}

// Sends the fixed 503 without waiting (a new socket's send buffer is empty)
// and closes. Over TLS it only closes: the answer would need a handshake.
void ServerCore::refuse(Socket& socket) {
  if (!tls) {
    [[maybe_unused]] ssize_t sent =
        ::send(socket.native_handle(), refusal.data(), refusal.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
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

std::string HttpServer::use_tls(const ServerTls& tls) {
  auto& core = *impl_->core;
  std::lock_guard<std::mutex> lock(core.mu);
  if (core.listening) return "use_tls() must come before listen()";
  std::string error;
  core.tls = detail::make_server_context(tls.cert_chain_file, tls.private_key_file, &error);
  return core.tls ? std::string() : error;
}

bool HttpServer::tls() const { return impl_->core->tls != nullptr; }

std::uint16_t HttpServer::port() const { return impl_->core->port; }

std::size_t HttpServer::max_connections() const { return impl_->core->slots.max(); }

void HttpServer::on_refused(std::function<void(ConnectionRefusal)> observer) {
  impl_->core->on_refused = std::move(observer);
}

std::size_t max_connections_for_file_limit(std::uint64_t file_limit) {
  constexpr std::uint64_t kMin = 32;
  constexpr std::uint64_t kMax = 1u << 20;
  const std::uint64_t spare = file_limit > kFdHeadroom ? file_limit - kFdHeadroom : 0;
  return static_cast<std::size_t>(std::clamp(spare / 2, kMin, kMax));
}

std::size_t default_max_connections() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return max_connections_for_file_limit(1024);
  return max_connections_for_file_limit(rl.rlim_cur == RLIM_INFINITY ? ~std::uint64_t{0}
                                                                     : rl.rlim_cur);
}

void HttpServer::stop() {
  if (!impl_ || !impl_->core) return;
  auto& core = *impl_->core;
  if (core.stopped.exchange(true)) return;
  // Thread-safe: acceptor operations are serialised by the core's mutex and
  // sessions are closed on the io_context's thread.
  core.do_stop();
}

}  // namespace orch::http
