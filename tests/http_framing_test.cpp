// Request framing by RFC 9112 (3.2 Host, 6.1 Transfer-Encoding, 6.3 message
// body length): a request whose length a server and a proxy in front of it
// could read differently is answered 400 and the connection closed, so the
// bytes after it are never read as a second request (request smuggling).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/raw_http.h"
#include "tests/support/recording_server.h"

namespace orch::testing {
namespace {

using namespace std::chrono_literals;

// What a proxy that framed the first request differently would pass on as
// the next one; it must never reach the handler.
const std::string kSmuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

struct Case {
  const char* name;
  std::string head;  // the first request, up to and including its body
};

std::vector<Case> desync_cases() {
  const std::string chunked_body = "5\r\nhello\r\n0\r\n\r\n";
  return {
      {"coding not ending in chunked",
       "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\n\r\n"},
      {"identity coding", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n"},
      {"gzip before chunked",
       "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" + chunked_body},
      {"gzip and chunked in two fields",
       "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: "
       "chunked\r\n\r\n" +
           chunked_body},
      {"chunked twice in one field",
       "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n" + chunked_body},
      {"chunked in two fields",
       "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
       "chunked\r\n\r\n" +
           chunked_body},
      {"empty transfer coding", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\n"},
      {"chunked on HTTP/1.0",
       "POST /a HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: "
       "chunked\r\n\r\n" +
           chunked_body},
      {"Content-Length then Transfer-Encoding",
       "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" +
           chunked_body},
      {"Transfer-Encoding then Content-Length",
       "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" +
           chunked_body},
      {"Content-Length with an unknown coding",
       "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\nContent-Length: 5\r\n\r\nhello"},
      {"two different Content-Lengths",
       "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 0\r\n\r\nhello"},
      {"a Content-Length list that differs",
       "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 0\r\n\r\nhello"},
      {"no Host on HTTP/1.1", "GET /a HTTP/1.1\r\n\r\n"},
      {"two Host fields", "GET /a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"},
      {"two equal Host fields", "GET /a HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n"},
      {"two Host fields on HTTP/1.0",
       "GET /a HTTP/1.0\r\nConnection: keep-alive\r\nHost: x\r\nHost: y\r\n\r\n"},
      {"Host with a space", "GET /a HTTP/1.1\r\nHost: a b\r\n\r\n"},
      {"Host with a path", "GET /a HTTP/1.1\r\nHost: x/y\r\n\r\n"},
      {"Host with user info", "GET /a HTTP/1.1\r\nHost: user@x\r\n\r\n"},
      {"Host with a bad port", "GET /a HTTP/1.1\r\nHost: x:8o\r\n\r\n"},
  };
}

TEST(HttpFramingTest, AmbiguousRequestsGet400AndTheConnectionCloses) {
  RecordingServer server;
  for (const Case& c : desync_cases()) {
    SCOPED_TRACE(c.name);
    RawConnection conn(server.port());
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(conn.send_all(c.head + kSmuggled));
    auto got = conn.read_until_close(3s);
    EXPECT_TRUE(got.closed) << "the connection stayed open";
    EXPECT_EQ(first_status(got.bytes), 400) << got.bytes;
    EXPECT_EQ(count_responses(got.bytes), 1) << got.bytes;
    EXPECT_NE(got.bytes.find("Connection: close"), std::string::npos) << got.bytes;
  }
  EXPECT_FALSE(server.saw("/smuggled"));
  EXPECT_FALSE(server.saw("/a"));
}

TEST(HttpFramingTest, WellFramedRequestsStillWork) {
  RecordingServer server;
  // Chunked on HTTP/1.1 (any case), pipelined with a second request.
  {
    RawConnection conn(server.port());
    ASSERT_TRUE(
        conn.send_all("POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n"
                      "5;name=value\r\nhello\r\n0\r\n\r\n"
                      "GET /second HTTP/1.1\r\nHost: x:8080\r\nConnection: close\r\n\r\n"));
    auto got = conn.read_until_close(3s);
    EXPECT_TRUE(got.closed);
    EXPECT_EQ(count_responses(got.bytes), 2) << got.bytes;
    EXPECT_NE(got.bytes.find("POST /chunked hello"), std::string::npos) << got.bytes;
    EXPECT_NE(got.bytes.find("GET /second "), std::string::npos) << got.bytes;
  }
  // HTTP/1.0 needs no Host; equal Content-Length values are one length;
  // an empty Host (a target with no authority) and IP literals are valid.
  for (const std::string& request :
       {std::string("GET /old HTTP/1.0\r\n\r\n"),
        std::string("POST /len HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\nConnection: "
                    "close\r\n\r\nok"),
        std::string("GET /empty-host HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n"),
        std::string("GET /v6 HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n"),
        std::string("GET /named HTTP/1.1\r\nHost: api.example-1.test\r\nConnection: "
                    "close\r\n\r\n")}) {
    SCOPED_TRACE(request);
    RawConnection conn(server.port());
    ASSERT_TRUE(conn.send_all(request));
    auto got = conn.read_until_close(3s);
    EXPECT_TRUE(got.closed);
    EXPECT_EQ(first_status(got.bytes), 200) << got.bytes;
  }
  EXPECT_TRUE(server.saw("/old"));
  EXPECT_TRUE(server.saw("/len"));
  EXPECT_TRUE(server.saw("/empty-host"));
  EXPECT_TRUE(server.saw("/v6"));
  EXPECT_TRUE(server.saw("/named"));
}

// RFC 9110 6.5.1: trailer fields are not header fields; merged into the
// headers, a trailer could supply what the header section did not carry
// (credentials, a content type) after the message was framed.
TEST(HttpFramingTest, TrailerFieldsAreNotMergedIntoTheHeaders) {
  RecordingServer server;
  RawConnection conn(server.port());
  ASSERT_TRUE(conn.send_all(
      "POST /trailer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
      "\r\n5\r\nhello\r\n0\r\nAuthorization: Bearer from-trailer\r\nX-Trailer: yes\r\n\r\n"));
  auto got = conn.read_until_close(3s);
  EXPECT_EQ(first_status(got.bytes), 200) << got.bytes;
  auto received = server.received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].body, "hello");
  EXPECT_FALSE(received[0].header("Authorization").has_value());
  EXPECT_FALSE(received[0].header("X-Trailer").has_value());
}

}  // namespace
}  // namespace orch::testing
