// A small asynchronous HTTP/1.1 server on Beast, shared by the REST API and the
// sandbox. One session per connection, keep-alive, a deadline before every
// read and write, and a body limit: the abuse limits of Beast's examples.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "adapters/http_message.h"

namespace boost::asio {
class io_context;
}

namespace orch::http {

// Called once per request on the server's io_context thread. The handler may
// respond later (asynchronously) but must call `respond` exactly once.
using Responder = std::function<void(Response)>;
using Handler = std::function<void(Request, Responder)>;

// Every part of a request is bounded; one over its limit is answered (the
// status below) and the connection closed. A connection's read buffer holds
// at most the header section's limit, or a chunk line's and the trailer's,
// plus 8 KiB.
struct ServerLimits {
  std::size_t max_body_bytes = 1 << 20;         // 1 MiB, chunked or not; 413
  std::size_t max_request_line_bytes = 8 * 1024;  // 414
  std::size_t max_field_bytes = 8 * 1024;       // one header field, name and value; 431
  std::size_t max_header_fields = 100;          // 431
  std::size_t max_header_bytes = 16 * 1024;     // request line and fields; 431
  std::size_t max_chunk_line_bytes = 4 * 1024;  // a chunk-size line with extensions; 400
  std::size_t max_trailer_bytes = 8 * 1024;     // trailer fields (read, then dropped); 400
  std::chrono::seconds idle_timeout{30};        // keep-alive idle deadline
  std::chrono::seconds io_timeout{30};          // deadline for one read/write
};

// REQUIRES: `io` is run by one thread (its sessions use its executor, not
// strands). stop() and a Responder may be called from any thread.
class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, Handler handler, ServerLimits limits = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting. Port 0 picks an ephemeral port. Returns an
  // empty string on success, otherwise a description of the failure.
  std::string listen(const std::string& host, std::uint16_t port);

  // The bound port (valid after a successful listen()).
  std::uint16_t port() const;

  // Stops accepting and closes open connections. Safe to call from the
  // io_context thread; idempotent.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace orch::http
