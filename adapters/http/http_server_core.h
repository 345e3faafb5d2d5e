// What an HttpServer's sessions share with it (ServerCore): the handler, the
// limits, the connection slots, the acceptor and the sessions alive.
// Internal to the server (adapters/http/http_server.cpp, http_listener.cpp,
// http_session*.cpp).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include "adapters/http/http_connection_slots.h"
#include "adapters/http/http_message.h"
#include "adapters/http/http_parser.h"
#include "adapters/http/http_server.h"
#include "adapters/http/http_stream.h"
#include "adapters/http/problem_details.h"

namespace orch::http::detail {

class Session;

// The server's own error answers: problem+json with type "about:blank".
inline Response problem(int status, std::string_view title, std::string_view detail) {
  return problem_response({status, "about:blank", title, detail, {}, {}});
}

// "address:port" ("[v6]:port"), or "" when the address cannot be printed.
std::string format_endpoint(const boost::asio::ip::tcp::endpoint& ep);

// Everything the sessions share with the server object. Owned by
// HttpServer::Impl and by every live session, so a session never outlives it.
// The accept loop and the cap's refusals: http_listener.cpp.
struct ServerCore : std::enable_shared_from_this<ServerCore> {
  using error_code = boost::system::error_code;
  using tcp = boost::asio::ip::tcp;

  ServerCore(boost::asio::io_context& io_, Handler h, ServerLimits l);

  // Constant after construction (on_refused: after listen()).
  boost::asio::io_context& io;
  Handler handler;
  const ServerLimits limits;
  const MessageLimits parse_limits;
  const std::string refusal;
  std::shared_ptr<boost::asio::ssl::context> tls;  // HTTPS only when set (before listen())
  std::function<void(ConnectionRefusal)> on_refused;

  ConnectionSlots slots;   // on the io thread, but for release()
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

}  // namespace orch::http::detail
