// A call's exchange on a connection: the request written, the response read
// and parsed (the proxy's answer to CONNECT too), and what a broken exchange
// means: a stale pooled connection tried once more on a fresh one, a response
// too large or not framed by RFC 9112 never retried.
#include <utility>

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include "adapters/http/http_client_call.h"

namespace orch::http::detail {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

}  // namespace

void Call::exchange() {
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

void Call::on_write(error_code ec) {
  if (ec) return exchange_failed(ec, false);
  last_ = CallResult{};
  parser_.emplace(last_.response, kResponseLimits);
  parser_->eager(true);
  if (head_) parser_->skip(true);
  parse();
}

void Call::parse() {
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

void Call::read_failed(error_code ec) {
  if (state_ == State::tunnelling) return tunnel_failed(ec);
  exchange_failed(ec, parser_->got_some());
}

void Call::read_some() {
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

void Call::on_read_some(error_code ec, std::size_t n) {
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

void Call::exchange_failed(error_code ec, bool got_response_bytes) {
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

}  // namespace orch::http::detail
