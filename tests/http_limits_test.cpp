// Every part of an HTTP message is bounded, in the server reading requests
// and in the client reading services' answers: the start line, each field,
// the number of fields and the whole header section, a chunk's size line
// with its extensions, the trailer section and the body; and the read
// buffer itself, so bytes the parser has not consumed cannot pile up.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "adapters/http/http_client.h"
#include "adapters/http/http_parser.h"
#include "adapters/http/http_server.h"
#include "tests/support/raw_http.h"
#include "tests/support/recording_server.h"

namespace orch::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr std::size_t kMiB = 1024 * 1024;
// What an abusive peer sends; far beyond any limit, small enough for a test.
constexpr std::size_t kFlood = 32 * kMiB;
const std::string kFiller(64 * 1024, 'e');
const std::string kChunkedHead =
    "POST /flood HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

// Streams `head` then filler into a fresh connection until the server
// answers; expects one `status` answer and a close, well before the flood
// is out.
void expect_cut_short(std::uint16_t port, const std::string& head, int status,
                      const std::string& filler = kFiller) {
  RawConnection conn(port, 64 * 1024);
  ASSERT_TRUE(conn.ok());
  const auto t0 = std::chrono::steady_clock::now();
  const std::size_t sent = conn.stream(head, filler, kFlood);
  auto got = conn.read_until_close(3s);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(sent, kFlood) << "the server took the whole flood without answering";
  EXPECT_EQ(first_status(got.bytes), status) << got.bytes.substr(0, 300);
  EXPECT_EQ(count_responses(got.bytes), 1);
  EXPECT_TRUE(got.closed) << "not closed after the answer";
  EXPECT_LT(took, 3s);
}

// One complete request, answered and closed; returns the raw reply.
RawConnection::Received round_trip(std::uint16_t port, const std::string& request) {
  RawConnection conn(port);
  EXPECT_TRUE(conn.ok());
  EXPECT_TRUE(conn.send_all(request));
  return conn.read_until_close(3s);
}

// ------------------------------------------------------------------ server

TEST(HttpServerLimitsTest, EndlessChunkExtensionGets400AndClose) {
  RecordingServer server;
  expect_cut_short(server.port(), kChunkedHead + "2;", 400);
  expect_cut_short(server.port(), kChunkedHead + "2;ext=", 400);
  // After a first chunk, and on the last chunk's line.
  expect_cut_short(server.port(), kChunkedHead + "2\r\nok\r\n1;", 400);
  expect_cut_short(server.port(), kChunkedHead + "0;", 400);
  EXPECT_TRUE(server.received().empty());
}

TEST(HttpServerLimitsTest, EndlessTrailerGets400AndClose) {
  RecordingServer server;
  // One field that never ends, and fields that never end the section.
  expect_cut_short(server.port(), kChunkedHead + "5\r\nhello\r\n0\r\nX-Trailer: ", 400);
  expect_cut_short(server.port(), kChunkedHead + "0\r\n", 400, "X-Trailer: aaaa\r\n");
  EXPECT_TRUE(server.received().empty());
}

TEST(HttpServerLimitsTest, EndlessHeaderGets431AndClose) {
  RecordingServer server;
  expect_cut_short(server.port(), "GET / HTTP/1.1\r\nHost: x\r\nX-Endless: ", 431);
  expect_cut_short(server.port(), "GET / HTTP/1.1\r\nHost: x\r\n", 431, "X-A: 1\r\n");
  EXPECT_TRUE(server.received().empty());
}

TEST(HttpServerLimitsTest, EachPartHasItsOwnLimit) {
  http::ServerLimits limits;  // the defaults, written out
  limits.max_request_line_bytes = 8 * 1024;
  limits.max_field_bytes = 8 * 1024;
  limits.max_header_fields = 100;
  limits.max_header_bytes = 32 * 1024;
  limits.max_chunk_line_bytes = 1024;
  limits.max_trailer_bytes = 4 * 1024;
  RecordingServer server(limits);
  const std::uint16_t port = server.port();
  const std::string close = "Connection: close\r\n";

  // Request line: a long target is 414 (RFC 9112 3).
  auto r = round_trip(port, "GET /" + std::string(9 * 1024, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(first_status(r.bytes), 414) << r.bytes.substr(0, 200);
  EXPECT_TRUE(r.closed);
  // One field over its limit, though the section is within its own.
  r = round_trip(port,
                 "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9 * 1024, 'b') + "\r\n\r\n");
  EXPECT_EQ(first_status(r.bytes), 431) << r.bytes.substr(0, 200);
  // Too many fields, each small.
  std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 120; ++i) many += "X-F" + std::to_string(i) + ": 1\r\n";
  r = round_trip(port, many + "\r\n");
  EXPECT_EQ(first_status(r.bytes), 431) << r.bytes.substr(0, 200);
  // The section: 5 fields of 7 KiB, each within the field limit.
  std::string wide = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 5; ++i)
    wide += "X-W" + std::to_string(i) + ": " + std::string(7 * 1024, 'w') + "\r\n";
  r = round_trip(port, wide + "\r\n");
  EXPECT_EQ(first_status(r.bytes), 431) << r.bytes.substr(0, 200);
  // A chunk extension over the chunk line's limit, though it fits the buffer.
  r = round_trip(port,
                 kChunkedHead + "5;x=" + std::string(2 * 1024, 'x') + "\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(first_status(r.bytes), 400) << r.bytes.substr(0, 200);
  // A trailer section over its limit, each field small.
  std::string trailer;
  for (int i = 0; i < 200; ++i) trailer += "X-T" + std::to_string(i) + ": 0123456789abcdef\r\n";
  r = round_trip(port, kChunkedHead + "5\r\nhello\r\n0\r\n" + trailer + "\r\n");
  EXPECT_EQ(first_status(r.bytes), 400) << r.bytes.substr(0, 200);
  EXPECT_TRUE(server.received().empty());

  // Within every limit: accepted.
  std::string fine = "POST /fine HTTP/1.1\r\nHost: x\r\n" + close;
  for (int i = 0; i < 90; ++i) fine += "X-F" + std::to_string(i) + ": 1\r\n";
  fine += "X-Big: " + std::string(7 * 1024, 'b') + "\r\nTransfer-Encoding: chunked\r\n\r\n";
  fine += "5;x=" + std::string(900, 'x') + "\r\nhello\r\n0\r\n";
  for (int i = 0; i < 50; ++i) fine += "X-T" + std::to_string(i) + ": 0123456789abcdef\r\n";
  fine += "\r\n";
  r = round_trip(
      port, "GET /" + std::string(7 * 1024, 'a') + " HTTP/1.1\r\nHost: x\r\n" + close + "\r\n");
  EXPECT_EQ(first_status(r.bytes), 200) << r.bytes.substr(0, 200);
  r = round_trip(port, fine);
  EXPECT_EQ(first_status(r.bytes), 200) << r.bytes.substr(0, 200);
  EXPECT_TRUE(server.saw("/fine"));
}

// Beast bounds only the header bytes it has not consumed yet. A field is
// handed on once the next line's first byte shows it is not folded; a read
// that ends one byte into the next line leaves Beast less than its 3-byte
// resume margin, so it rescans from there and never adds up what it handed
// on. Fed that way, field after field, it never reached its header limit.
// The parser counts what it was handed.
TEST(HttpParserLimitsTest, FieldsAlreadyHandedOnCountAgainstTheHeaderLimit) {
  http::Request request;
  http::detail::MessageLimits limits;
  http::detail::RequestParser parser(request, limits);
  std::string buffer;  // what a connection keeps between reads
  auto read = [&](const std::string& bytes) {
    buffer += bytes;
    boost::system::error_code ec;
    buffer.erase(0, parser.put(asio::buffer(buffer), ec));
    return ec;
  };
  boost::system::error_code ec = read("GET / HTTP/1.1\r\nHost: x\r\nX");
  int fields = 0;
  while (fields < 1000 && ec == boost::beast::http::error::need_more) {
    ec = read("-F" + std::to_string(fields++) + ": " + std::string(1000, 'f') + "\r\nX");
    if (ec == boost::beast::http::error::need_more) {
      EXPECT_LT(buffer.size(), 3u);
    }
  }
  EXPECT_EQ(ec, http::detail::make_error_code(http::detail::MessageError::header_too_large));
  EXPECT_EQ(fields, 17);  // 16 KiB
  EXPECT_LE(request.headers.size(), 17u);
}

// ------------------------------------------------------------------ client

// What a hostile service sends the client: the client's body limit is 8 MiB.
constexpr std::size_t kClientFlood = 64 * kMiB;

// A service that answers the request on its one connection with `head`, then
// `filler` until the client stops reading (or kClientFlood bytes went out).
class HostileService {
 public:
  HostileService(std::string head, std::string filler)
      : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        head_(std::move(head)),
        filler_(std::move(filler)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~HostileService() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    thread_.join();
  }
  std::string base_url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  std::size_t sent() const { return sent_.load(); }

 private:
  void serve() {
    boost::system::error_code ec;
    tcp::socket s = acceptor_.accept(ec);
    if (ec) return;
    int small = 64 * 1024;
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    std::string request;
    asio::read_until(s, asio::dynamic_buffer(request), "\r\n\r\n", ec);
    if (ec) return;
    asio::write(s, asio::buffer(head_), ec);
    std::size_t sent = head_.size();
    while (!ec && !filler_.empty() && sent < kClientFlood) {
      sent += asio::write(s, asio::buffer(filler_), ec);
      sent_ = sent;
    }
    // Then hold the connection until the client closes it.
    char byte;
    while (!ec) s.read_some(asio::buffer(&byte, 1), ec);
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::string head_;
  std::string filler_;
  std::atomic<std::size_t> sent_{0};
  std::thread thread_;
};

http::CallResult call_once(const std::string& base_url) {
  asio::io_context io{1};
  http::HttpClient client(io);
  http::Request req;
  req.method = "GET";
  req.target = "/answer";
  http::CallOptions options;
  options.timeout = 5s;
  options.max_retries = 0;
  http::CallResult out;
  client.send(base_url, req, options, [&](http::CallResult r) { out = std::move(r); });
  io.run();
  return out;
}

void expect_refused(const std::string& head, const std::string& filler, const char* what) {
  HostileService service(head, filler);
  const auto t0 = std::chrono::steady_clock::now();
  http::CallResult r = call_once(service.base_url());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error, http::TransportError::io);
  EXPECT_NE(r.error_message.find(what), std::string::npos) << r.error_message;
  // The client stopped reading long before the flood was out (what was
  // sent sits in the two sockets' buffers, not in the client).
  EXPECT_LT(service.sent(), kClientFlood / 2);
}

TEST(HttpClientLimitsTest, EndlessAnswersFailTheCallWithBoundedMemory) {
  expect_refused("HTTP/1.1 200 OK\r\nX-Endless: ", kFiller, "too large");
  expect_refused("HTTP/1.1 200 OK\r\n", "X-A: 1\r\n", "too large");
  expect_refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;", kFiller, "too large");
  expect_refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Trailer: ", kFiller,
                 "too large");
  expect_refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", "X-T: aaaa\r\n",
                 "too large");
  // A body without a length, read to the end: the body limit applies.
  expect_refused("HTTP/1.1 200 OK\r\n\r\n", kFiller, "too large");
}

TEST(HttpClientLimitsTest, AmbiguousAnswersFailTheCall) {
  for (const char* head :
       {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: foo\r\nContent-Length: 2\r\n\r\nok",
        "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"}) {
    SCOPED_TRACE(head);
    HostileService service(head, "");
    http::CallResult r = call_once(service.base_url());
    EXPECT_FALSE(r.ok()) << r.response.status;
    EXPECT_EQ(r.error, http::TransportError::io);
    EXPECT_NE(r.error_message.find("not framed"), std::string::npos) << r.error_message;
  }
}

}  // namespace
}  // namespace orch::testing
