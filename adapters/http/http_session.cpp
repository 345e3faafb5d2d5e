// An HttpServer connection up to its handler: admission to a slot, the TLS
// handshake, the request read within its deadlines and limits (an answer
// for each limit broken), and the request handed to the handler with a
// one-shot responder.
#include "adapters/http/http_session.h"

#include <exception>
#include <string_view>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>

#include "adapters/http/http_syntax.h"

namespace orch::http::detail {

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using syntax::iequals;

}  // namespace

Session::Session(Executor ex, std::shared_ptr<ServerCore> core)
    : stream_(ex, core->tls.get()),
      deadline_(ex, *this),
      buffer_(detail::read_buffer_limit(core->parse_limits)),
      core_(std::move(core)) {}

Session::~Session() {
  core_->slots.stop_waiting(this);  // only when the io_context is torn down
  release_slot();
}

void Session::accepted(bool reserve) {
  holds_slot_ = true;
  reserve_ = reserve;
  error_code ec;
  socket().set_option(tcp::no_delay(true), ec);
  auto ep = socket().remote_endpoint(ec);
  if (!ec) remote_ = format_endpoint(ep);
}

void Session::start() {
  asio::dispatch(executor(), [self = shared_from_this()] { self->handshake(); });
}

void Session::close() {
  closed_ = true;
  core_->slots.stop_waiting(this);
  release_slot();
  error_code ec;
  socket().shutdown(tcp::socket::shutdown_both, ec);
  socket().close(ec);
  deadline_.cancel();
}

void Session::give_way() {
  core_->count(ConnectionRefusal::gave_way);
  close();
}

void Session::release_slot() {
  if (!holds_slot_) return;
  holds_slot_ = false;
  core_->slots.release();
}

void Session::handshake() {
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

void Session::close_tls() {
  deadline_.expires_after(kTlsCloseWait);
  deadline_.pending(true);
  stream_.tls()->async_shutdown([self = shared_from_this()](error_code) {
    self->deadline_.pending(false);
    self->close();
  });
}

void Session::do_read() {
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

void Session::parse() {
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

void Session::read_some() {
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

void Session::on_read_some(error_code ec, std::size_t n) {
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

void Session::on_header() {
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

void Session::read_body() {
  reading_body_ = true;
  parser_->eager(true);
  parse();
}

void Session::on_read_error(error_code ec) {
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

Response Session::message_problem(error_code ec) const {
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

void Session::dispatch_request() {
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

}  // namespace orch::http::detail
