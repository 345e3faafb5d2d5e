// A small asynchronous HTTP/1.1 server on Beast, shared by the REST API and the
// sandbox. One session per connection, keep-alive, a deadline before every
// read and write, a bound on every part of a request, and a cap on
// connections: the abuse limits of Beast's examples, and a few more. Plain
// HTTP, or HTTPS only (use_tls()).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http/http_message.h"

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
//
// Connections: at most max_connections at once. Past it, the connection
// that has waited longest without a request in progress (for the first byte
// of one, or draining after an error answer) is closed to make room; when
// every connection is busy with a request, up to reserved_connections more
// are admitted for one request each, to reserve_paths only (others get
// 503); past those, a new connection is answered 503 (Retry-After: 1) and
// closed at once, without reading (a client that had already sent its
// request may see a reset instead).
struct ServerLimits {
  // 4 MiB, chunked or not; 413. Room for an import of 10,000 customers
  // with every field (about 2.3 MB).
  std::size_t max_body_bytes = 4 << 20;
  std::size_t max_request_line_bytes = 8 * 1024;  // 414
  std::size_t max_field_bytes = 8 * 1024;       // one header field, name and value; 431
  std::size_t max_header_fields = 100;          // 431
  std::size_t max_header_bytes = 16 * 1024;     // request line and fields; 431
  std::size_t max_chunk_line_bytes = 4 * 1024;  // a chunk-size line with extensions; 400
  std::size_t max_trailer_bytes = 8 * 1024;     // trailer fields (read, then dropped); 400
  std::chrono::seconds idle_timeout{30};        // keep-alive: waiting for the next request
  std::chrono::seconds io_timeout{30};          // deadline for one read/write
  // From accept, or from the first byte of a kept-alive connection's next
  // request, to the end of the request's header.
  std::chrono::milliseconds header_timeout{kDefaultHeaderTimeout};
  std::size_t max_connections = 0;  // 0: default_max_connections()
  std::size_t reserved_connections = kDefaultReservedConnections;
  std::vector<std::string> reserve_paths = {"/health", "/ready", "/metrics"};

  static constexpr std::chrono::milliseconds kDefaultHeaderTimeout{5'000};
  static constexpr std::size_t kDefaultReservedConnections = 8;
};

// Descriptors kept out of the default connection cap: the store's files,
// the listening sockets, the event loop's, logs and resolvers.
inline constexpr std::uint64_t kFdHeadroom = 64;

// The default cap for a process whose file limit (RLIMIT_NOFILE) is
// `file_limit`: half of what kFdHeadroom leaves, the other half being for
// outbound calls (one connection each, and the in-process sandbox's end of
// them); at least 32, at most 2^20 (an unlimited file limit).
std::size_t max_connections_for_file_limit(std::uint64_t file_limit);
// The same for this process's current soft limit.
std::size_t default_max_connections();

// Connections the server closed for its cap, as counted by the observer.
enum class ConnectionRefusal {
  over_limit,  // every slot held and busy: 503 and closed at accept
  reserve,     // admitted on a reserve slot for a path other than the probes': 503
  gave_way,    // waiting without a request; closed for a new connection
};

// The certificate of a server speaking HTTPS: PEM files of the chain (the
// server's certificate first, then intermediates) and of its private key.
struct ServerTls {
  std::string cert_chain_file;
  std::string private_key_file;
};

// REQUIRES: `io` is run by one thread (its sessions use its executor, not
// strands). stop() and a Responder may be called from any thread.
class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, Handler handler, ServerLimits limits = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serves HTTPS only (TLS 1.2 or later; sessions resumable) with `tls`.
  // Call before listen(). Returns "" or what is wrong with the files.
  // Over HTTPS the handshake counts against header_timeout, and a
  // connection refused for the cap is closed without the 503.
  std::string use_tls(const ServerTls& tls);
  bool tls() const;

  // Binds and starts accepting. Port 0 picks an ephemeral port. Returns an
  // empty string on success, otherwise a description of the failure.
  std::string listen(const std::string& host, std::uint16_t port);

  // The bound port (valid after a successful listen()).
  std::uint16_t port() const;

  // The connection cap in force (ServerLimits::max_connections, or the
  // default derived from the file limit).
  std::size_t max_connections() const;

  // Called on the io_context's thread for every connection closed for the
  // cap. Set before listen().
  void on_refused(std::function<void(ConnectionRefusal)> observer);

  // Stops accepting and closes open connections. Safe to call from the
  // io_context thread; idempotent.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace orch::http
