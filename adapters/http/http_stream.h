// The byte stream under one HTTP connection, the server's or the client's: a
// TCP socket, or TLS over one (Beast's ssl_stream). Reads and writes go
// through visit(), so one code path serves both; the TCP socket underneath is
// always at socket(): accept and connect use it, a deadline closes it, and a
// proxy tunnel's CONNECT exchange runs on it before the TLS handshake.
// Internal to the server and the client (adapters/http/http_session*.cpp,
// http_listener.cpp, http_client*.cpp).
#pragma once

#include <utility>
#include <variant>

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace orch::http::detail {

// Concrete executor types: no any_io_executor type erasure on the hot path.
// Every io_context that runs a client or a server runs on one thread (see
// HttpClient and HttpServer), so its own executor already runs a
// connection's handlers one at a time. A strand would add, to every
// completion, a queue under a mutex and a second pass through the scheduler.
using Executor = boost::asio::io_context::executor_type;
using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor>;
using TlsStream = boost::beast::ssl_stream<Socket>;

class Stream {
 public:
  // Plain TCP when `tls` is null, else TLS with that context (which must
  // outlive the stream). No I/O happens here.
  Stream(const Executor& ex, boost::asio::ssl::context* tls) : stream_(make(ex, tls)) {}

  // The TCP socket (the lowest layer).
  Socket& socket() {
    if (auto* t = std::get_if<TlsStream>(&stream_)) return t->next_layer();
    return std::get<Socket>(stream_);
  }
  // The TLS layer, or null for plain TCP.
  TlsStream* tls() { return std::get_if<TlsStream>(&stream_); }

  // Calls f(Socket&) or f(TlsStream&): the one code path for reads and writes.
  template <class F>
  decltype(auto) visit(F&& f) {
    return std::visit(std::forward<F>(f), stream_);
  }

 private:
  using Variant = std::variant<Socket, TlsStream>;
  static Variant make(const Executor& ex, boost::asio::ssl::context* tls) {
    if (tls) return Variant(std::in_place_type<TlsStream>, ex, *tls);
    return Variant(std::in_place_type<Socket>, ex);
  }

  Variant stream_;
};

}  // namespace orch::http::detail
