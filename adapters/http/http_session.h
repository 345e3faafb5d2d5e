// One connection of an HttpServer (Session): its TLS handshake, the requests
// read and handed to the handler, the responses written, the lingering close
// after an error. Internal to the server:
//   http_session.cpp        admission, TLS, reading and dispatching requests
//   http_session_reply.cpp  the response written, keep-alive or close, linger
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/system/error_code.hpp>

#include "adapters/http/http_connection_slots.h"
#include "adapters/http/http_deadline.h"
#include "adapters/http/http_message.h"
#include "adapters/http/http_parser.h"
#include "adapters/http/http_server_core.h"
#include "adapters/http/http_stream.h"

namespace orch::http::detail {

// One connection. All members are used on the io_context's thread only.
//
// A deadline is set before each read or write (detail::Deadline: one lazily
// re-armed timer); nothing times out while the handler is working on a
// request.
//
// A session holds one of the server's connection slots from its admission
// to its close (or destruction), and waits in the slots' list while it has
// no request in progress, so a new connection can take its place.
class Session final : public std::enable_shared_from_this<Session>, private SlotWaiter {
 public:
  using error_code = boost::system::error_code;
  using tcp = boost::asio::ip::tcp;

  Session(Executor ex, std::shared_ptr<ServerCore> core);
  ~Session();

  Socket& socket() { return stream_.socket(); }

  // After the accept: the slot it was given, socket options and the peer's
  // address.
  void accepted(bool reserve);

  void start();

  // Must run on the io_context's thread.
  void close();

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
      boost::asio::dispatch(ex, [s = std::move(s), r = std::move(r)]() mutable {
        s->write_response(std::move(r));
      });
    }
    // Destroyed unanswered: dropping `session` lets the session (which has no
    // operation pending while it waits) be destroyed, closing the socket.
  };

  // --- connection slot (http_session.cpp) -----------------------------------

  void give_way() override;
  void release_slot();

  // --- TLS (http_session.cpp) -----------------------------------------------

  // An HTTPS connection's handshake, within the header deadline; until its
  // first request starts, the connection may give way like an idle one.
  void handshake();
  // After the last response: TLS's close_notify (RFC 8446 6.1), waiting at
  // most kTlsCloseWait for the peer's, then the TCP close.
  void close_tls();

  // --- reading (http_session.cpp) -------------------------------------------

  void do_read();
  // Feeds buffered bytes to the parser; reads more while it needs them. The
  // loop of Beast's http::async_read_header / async_read.
  void parse();
  void read_some();
  void on_read_some(error_code ec, std::size_t n);
  void on_header();
  void read_body();
  void on_body() { dispatch_request(); }
  void on_read_error(error_code ec);
  // The answer to a request DirectParser refused: what was over which
  // limit, or which framing rule it broke.
  Response message_problem(error_code ec) const;
  void dispatch_request();

  // --- writing (http_session_reply.cpp) -------------------------------------

  // An error response after which the connection is closed.
  void write_error(Response r);
  void on_write(error_code ec);
  void start_linger();
  void drain();

  static constexpr std::chrono::seconds kTlsCloseWait{1};
  static constexpr std::size_t kMaxKeptWriteBuffer = 64 * 1024;
  static constexpr std::size_t kLingerRead = 16 * 1024;  // discarded

  Stream stream_;
  Deadline<Session> deadline_;
  boost::beast::flat_buffer buffer_;
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

}  // namespace orch::http::detail
