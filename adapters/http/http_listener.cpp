// An HttpServer's accept loop and its connection cap: each accepted
// connection is admitted to a slot (a reserve one, or refused with a fixed
// 503 sent without waiting), tracked so that stop() can close it.
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>

#include "adapters/http/http_server_core.h"
#include "adapters/http/http_session.h"

namespace orch::http::detail {

namespace {

namespace asio = boost::asio;

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

}  // namespace

ServerCore::ServerCore(asio::io_context& io_, Handler h, ServerLimits l)
    : io(io_),
      handler(std::move(h)),
      limits(std::move(l)),
      parse_limits(detail::request_limits(limits)),
      refusal(refusal_bytes()),
      slots(limits.max_connections ? limits.max_connections : default_max_connections(),
            limits.reserved_connections),
      acceptor(io_.get_executor()) {}

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

}  // namespace orch::http::detail
