// How a call reaches its origin on a fresh connection: the host resolved
// (once per origin, shared by the calls waiting for it), the TCP connect,
// the CONNECT tunnel through a proxy, and the TLS handshake, each within the
// attempt's deadline, each failure classified (timeout, connect, tls).
#include <string>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

#include "adapters/http/http_client_call.h"
#include "adapters/http/tls_context.h"

namespace orch::http::detail {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;

}  // namespace

void Call::fresh_connection() {
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

void Call::connect() {
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

void Call::on_connect(error_code ec) {
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

void Call::tunnel() {
  state_ = State::tunnelling;
  if (past_deadline()) return tunnel_failed(beast::error::timeout);
  conn_->watch(deadline_);
  const std::string& request = origin().connect_request;
  asio::async_write(conn_->socket(), asio::buffer(request),
                    [self = shared_from_this()](error_code ec, std::size_t) {
                      self->on_tunnel_write(self->op_error(ec));
                    });
}

void Call::on_tunnel_write(error_code ec) {
  if (ec) return tunnel_failed(ec);
  last_ = CallResult{};
  parser_.emplace(last_.response, kResponseLimits);
  parser_->eager(true);
  parser_->skip(true);  // a 2xx answer to CONNECT has no body (RFC 9110 9.3.6)
  parse();
}

void Call::on_tunnel_response() {
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

void Call::tunnel_failed(error_code ec) {
  parser_.reset();
  conn_.reset();
  if (ec == beast::error::timeout)
    return fail_attempt(TransportError::timeout,
                        "timed out opening a tunnel to " + where() + " after " + timeout_text());
  fail_attempt(TransportError::connect, "tunnel to " + where() + " failed: " + ec.message());
}

void Call::secure() {
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

void Call::on_handshake(error_code ec) {
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

}  // namespace orch::http::detail
