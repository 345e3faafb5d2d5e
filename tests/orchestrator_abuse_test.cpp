// Hostile clients against a real `orchestrator serve` process (authentication
// on, no token sent), watched from outside: its resident memory while a
// connection streams an endless chunk extension or trailer, and how soon
// /health answers while idle connections crowd it under a small file limit.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "adapters/http/blocking_http.h"
#include "tests/support/orchestrator_process.h"
#include "tests/support/raw_http.h"

namespace orch::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMiB = 1024 * 1024;
constexpr std::size_t kFlood = 64 * kMiB;
constexpr std::size_t kMaxGrowth = 20 * kMiB;

// The test opens hundreds of sockets itself.
void raise_own_fd_limit(rlim_t want) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

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
  std::string fields;
  while (fields.size() < 64 * 1024) fields += "X-Trailer: 1\r\n";
  flood_and_measure(server, head + "0\r\n", fields, "trailer fields");

  http::BlockingHttp http;
  auto r = http.call(server.base_url(), "GET", "/health", "", {}, 2s);
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.status, 200);
}

// Times GET /health on a fresh connection (one attempt).
double health_seconds(const std::string& base_url, int* status) {
  http::BlockingHttp http;
  const auto t0 = Clock::now();
  auto r = http.call(base_url, "GET", "/health", "", {}, 3s);
  *status = r.ok() ? r.response.status : 0;
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The incident: with a file limit of 1,024, 3,000 idle connections kept
// /health from answering for 30 s. Scaled down: a limit of 256, 600 idle
// connections, the cap derived from the limit.
TEST(OrchestratorAbuseTest, IdleConnectionsUnderASmallFileLimitLeaveHealthAnswering) {
  raise_own_fd_limit(4096);
  OrchestratorProcess server(nlohmann::json::object(), /*fd_limit=*/256);
  ASSERT_TRUE(server.started()) << server.log_text();
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 600; ++i) {
    idle.push_back(std::make_unique<RawConnection>(server.port()));
    ASSERT_TRUE(idle.back()->ok()) << "connection " << i;
  }
  int status = 0;
  const double seconds = health_seconds(server.base_url(), &status);
  std::printf("[ measure  ] 600 idle connections, file limit 256: /health %d in %.3f s\n", status,
              seconds);
  EXPECT_EQ(status, 200);
  EXPECT_LT(seconds, 1.0);
  EXPECT_TRUE(server.running());
}

// The configured cap (config key max_connections): the excess goes at once.
TEST(OrchestratorAbuseTest, ConfiguredConnectionCapClosesTheExcessAtOnce) {
  OrchestratorProcess server(nlohmann::json{{"max_connections", 16}});
  ASSERT_TRUE(server.started()) << server.log_text();
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 40; ++i) idle.push_back(std::make_unique<RawConnection>(server.port()));
  int closed = 0;
  const auto deadline = Clock::now() + 2s;
  std::vector<bool> seen(idle.size(), false);
  while (closed < 24 && Clock::now() < deadline) {
    for (std::size_t i = 0; i < idle.size(); ++i) {
      if (!seen[i] && idle[i]->closed_within(5ms)) {
        seen[i] = true;
        ++closed;
      }
    }
  }
  EXPECT_EQ(closed, 24);
  int status = 0;
  const double seconds = health_seconds(server.base_url(), &status);
  std::printf(
      "[ measure  ] 40 idle connections, max_connections 16: %d closed, /health %d in "
      "%.3f s\n",
      closed, status, seconds);
  EXPECT_EQ(status, 200);
  EXPECT_LT(seconds, 1.0);

  // Counted: each closed connection, and the one that made room for /health.
  http::BlockingHttp http;
  auto metrics = http.call(server.base_url(), "GET", "/metrics", "", {}, 2s);
  ASSERT_TRUE(metrics.ok()) << metrics.error_message;
  const std::string name = "http_connections_refused_total{reason=\"gave_way\"} ";
  const auto at = metrics.response.body.find(name);
  ASSERT_NE(at, std::string::npos) << metrics.response.body;
  EXPECT_GE(std::stod(metrics.response.body.substr(at + name.size())), 25.0);
}

}  // namespace
}  // namespace orch::testing
