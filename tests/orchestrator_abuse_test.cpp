// Hostile clients against a real `orchestrator serve` process (authentication
// on, no token sent), watched from outside: its resident memory while a
// connection streams an endless chunk extension or trailer.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/blocking_http.h"
#include "tests/support/orchestrator_process.h"
#include "tests/support/raw_http.h"

namespace orch::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMiB = 1024 * 1024;
constexpr std::size_t kFlood = 64 * kMiB;
constexpr std::size_t kMaxGrowth = 20 * kMiB;

// Streams `head` then `filler` at the server (no token): it must answer 400
// and close long before the flood is out; and a client that ignores the
// answer and sends the whole flood anyway must leave its memory as it was.
void flood_and_measure(OrchestratorProcess& server, const std::string& head,
                       const std::string& filler, const char* what) {
  {
    RawConnection conn(server.port(), 64 * 1024);
    ASSERT_TRUE(conn.ok());
    const auto t0 = Clock::now();
    const std::size_t sent = conn.stream(head, filler, kFlood);
    auto got = conn.read_until_close(3s);
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("[ measure  ] %s: answer %d after %.1f KiB and %.3f s\n", what,
                first_status(got.bytes), static_cast<double>(sent) / 1024, seconds);
    EXPECT_LT(sent, kFlood) << "the server took the whole flood without answering";
    EXPECT_EQ(first_status(got.bytes), 400) << got.bytes.substr(0, 300);
    EXPECT_TRUE(got.closed);
    EXPECT_LT(seconds, 3.0);
  }
  const std::size_t before = server.resident();
  RawConnection conn(server.port());
  ASSERT_TRUE(conn.ok());
  const std::size_t sent = conn.stream(head, filler, kFlood, /*stop_at_answer=*/false);
  auto got = conn.read_until_close(3s);
  const std::size_t after = server.resident();
  std::printf("[ measure  ] %s, answer ignored: %.1f MiB sent, RSS %.1f -> %.1f MiB\n", what,
              static_cast<double>(sent) / kMiB, static_cast<double>(before) / kMiB,
              static_cast<double>(after) / kMiB);
  EXPECT_EQ(first_status(got.bytes), 400) << got.bytes.substr(0, 300);
  EXPECT_TRUE(got.closed);
  EXPECT_LT(after, before + kMaxGrowth);
  EXPECT_TRUE(server.running());
}

TEST(OrchestratorAbuseTest, EndlessChunkExtensionOrTrailerBeforeAuthKeepsMemoryBounded) {
  OrchestratorProcess server;
  ASSERT_TRUE(server.started()) << server.log_text();
  const std::string head =
      "POST /v1/campaigns HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  const std::string filler(64 * 1024, 'e');
  flood_and_measure(server, head + "2;", filler, "chunk extension");
  flood_and_measure(server, head + "2\r\n{}\r\n0\r\nX-Trailer: ", filler, "trailer field");
  flood_and_measure(server, head + "0\r\n", "X-Trailer: 1\r\n", "trailer fields");

  http::BlockingHttp http;
  auto r = http.call(server.base_url(), "GET", "/health", "", {}, 2s);
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.status, 200);
}

}  // namespace
}  // namespace orch::testing
