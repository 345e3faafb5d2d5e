// An HttpServer connection's answers: the response serialised as Beast wrote
// it and written within its deadline, then the next request, a clean close
// (TLS close_notify first), or after an error the lingering close that lets
// the client read the answer.
#include "adapters/http/http_session.h"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>
#include <utility>

#include <boost/asio/write.hpp>
#include <boost/beast/http/status.hpp>

#include "adapters/http/http_syntax.h"

namespace orch::http::detail {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using syntax::iequals;

// Upper bounds for the "lingering close" after an error response: the server
// keeps reading (and discarding) what the client is still sending so that the
// client's write completes and it gets to read our 4xx instead of a reset.
constexpr std::chrono::seconds kMaxLinger{5};
constexpr std::size_t kMaxLingerBytes = 64u << 20;

bool contains_token_ci(std::string_view haystack, std::string_view token) {
  if (token.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + token.size() <= haystack.size(); ++i) {
    if (iequals(haystack.substr(i, token.size()), token)) return true;
  }
  return false;
}

}  // namespace

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

void Session::write_error(Response r) {
  keep_alive_ = false;
  linger_ = true;
  head_ = false;
  version_ = 11;
  write_response(std::move(r));
}

void Session::on_write(error_code ec) {
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

void Session::start_linger() {
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

void Session::drain() {
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

}  // namespace orch::http::detail
