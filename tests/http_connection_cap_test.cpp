// The server holds at most ServerLimits::max_connections connections: past
// it, a connection that has not started a request gives way to the new one
// (the longest waiting first); when none is waiting, a few reserve slots
// admit one request each for the probe paths (/health, /ready, /metrics);
// past those, a connection is answered 503 and closed at once. A connection
// that has not sent a whole request header within header_timeout is closed.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "adapters/http/http_server.h"
#include "api/server/config.h"
#include "tests/support/orchestrator_fixture.h"
#include "tests/support/raw_http.h"
#include "tests/support/recording_server.h"

namespace orch::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kHealth = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

// Waits (bounded) until the handler has seen `n` requests.
bool wait_for_requests(const RecordingServer& server, std::size_t n) {
  const auto deadline = Clock::now() + 3s;
  while (server.count() < n) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);  // bounded polling of a real server
  }
  return true;
}

std::vector<std::unique_ptr<RawConnection>> open_idle(std::uint16_t port, int n) {
  std::vector<std::unique_ptr<RawConnection>> out;
  for (int i = 0; i < n; ++i) out.push_back(std::make_unique<RawConnection>(port));
  return out;
}

TEST(HttpConnectionCapTest, IdleConnectionsOverTheCapGiveWayOldestFirst) {
  http::ServerLimits limits;
  limits.max_connections = 8;
  limits.reserved_connections = 2;
  RecordingServer server(limits);
  auto idle = open_idle(server.port(), 20);

  // The 12 oldest are closed at once; the 8 newest stay.
  std::vector<bool> closed(idle.size(), false);
  const auto deadline = Clock::now() + 2s;
  while (std::count(closed.begin(), closed.end(), true) < 12 && Clock::now() < deadline) {
    for (std::size_t i = 0; i < idle.size(); ++i)
      if (!closed[i]) closed[i] = idle[i]->closed_within(5ms);
  }
  for (std::size_t i = 0; i < idle.size(); ++i) EXPECT_EQ(closed[i], i < 12) << "connection " << i;

  // A health check gets a connection (the oldest idle one gives way) and
  // its answer at once.
  const auto t0 = Clock::now();
  RawConnection probe(server.port());
  ASSERT_TRUE(probe.send_all(kHealth));
  auto got = probe.read_until_close(1s);
  EXPECT_EQ(first_status(got.bytes), 200) << got.bytes;
  EXPECT_LT(Clock::now() - t0, 1s);
  EXPECT_TRUE(idle[12]->closed_within(1s));
}

TEST(HttpConnectionCapTest, WhenEverySlotIsBusyTheReserveServesProbesOnly) {
  http::ServerLimits limits;
  limits.max_connections = 4;
  limits.reserved_connections = 2;
  RecordingServer server(limits);
  const std::uint16_t port = server.port();

  // Four connections busy with a request each (answered only on release).
  std::vector<std::unique_ptr<RawConnection>> busy;
  for (int i = 0; i < 4; ++i) {
    busy.push_back(std::make_unique<RawConnection>(port));
    ASSERT_TRUE(
        busy.back()->send_all("GET /hold/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  ASSERT_TRUE(wait_for_requests(server, 4));

  // Over the cap: other paths get 503, a probe gets its answer; both close.
  {
    RawConnection work(port);
    ASSERT_TRUE(work.send_all("GET /work HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto got = work.read_until_close(2s);
    EXPECT_EQ(first_status(got.bytes), 503) << got.bytes;
    EXPECT_TRUE(got.closed);
  }
  EXPECT_FALSE(server.saw("/work"));
  for (const char* path : {"/health", "/ready", "/metrics?x=1"}) {
    RawConnection probe(port);
    ASSERT_TRUE(probe.send_all(std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto got = probe.read_until_close(2s);
    EXPECT_EQ(first_status(got.bytes), 200) << path << ": " << got.bytes;
    EXPECT_EQ(count_responses(got.bytes), 1);
    EXPECT_TRUE(got.closed) << "a reserve connection serves one request";
  }

  // Both reserve slots busy too: the next connection is refused at once.
  std::vector<std::unique_ptr<RawConnection>> reserve;
  for (int i = 0; i < 2; ++i) {
    reserve.push_back(std::make_unique<RawConnection>(port));
    ASSERT_TRUE(reserve.back()->send_all("GET /health?hold=" + std::to_string(i) +
                                         " HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  ASSERT_TRUE(wait_for_requests(server, 4 + 3 + 2));
  const auto t0 = Clock::now();
  RawConnection refused(port);
  auto got = refused.read_until_close(2s);
  EXPECT_LT(Clock::now() - t0, 1s);
  EXPECT_TRUE(got.closed);
  EXPECT_EQ(first_status(got.bytes), 503) << got.bytes;

  // Released, the busy connections are answered and the server takes
  // connections again.
  server.release_held();
  for (auto& c : busy) EXPECT_EQ(first_status(c->read_until_close(300ms).bytes), 200);
  RawConnection after(port);
  ASSERT_TRUE(after.send_all("GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(first_status(after.read_until_close(2s).bytes), 200);
}

TEST(HttpConnectionCapTest, AConnectionMustSendItsHeaderWithinTheHeaderTimeout) {
  http::ServerLimits limits;
  limits.header_timeout = 300ms;
  limits.idle_timeout = 30s;
  RecordingServer server(limits);

  const auto t0 = Clock::now();
  RawConnection silent(server.port());
  RawConnection partial(server.port());
  ASSERT_TRUE(partial.send_all("GET /partial HTTP/1.1\r\nHost: x\r\n"));
  EXPECT_TRUE(silent.closed_within(3s));
  EXPECT_TRUE(partial.closed_within(3s));
  EXPECT_GE(Clock::now() - t0, 250ms);
  EXPECT_FALSE(server.saw("/partial"));

  // A kept-alive connection between requests waits for the idle timeout.
  RawConnection kept(server.port());
  ASSERT_TRUE(kept.send_all("GET /one HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(kept.closed_within(900ms));
  ASSERT_TRUE(kept.send_all("GET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto got = kept.read_until_close(2s);
  EXPECT_EQ(first_status(got.bytes), 200) << got.bytes;
  EXPECT_TRUE(server.saw("/two"));
}

TEST(HttpConnectionCapTest, DefaultCapFollowsTheFileLimit) {
  // Half of what the headroom leaves: the other half is for outbound calls.
  EXPECT_EQ(http::max_connections_for_file_limit(1024), (1024u - 64u) / 2);
  EXPECT_EQ(http::max_connections_for_file_limit(20000), (20000u - 64u) / 2);
  EXPECT_EQ(http::max_connections_for_file_limit(100), 32u);  // a floor
  EXPECT_EQ(http::max_connections_for_file_limit(0), 32u);
  EXPECT_EQ(http::max_connections_for_file_limit(~std::uint64_t{0}), 1u << 20);  // unlimited
  EXPECT_GT(http::default_max_connections(), 0u);
}

// Config key max_connections, overridden by ORCH_MAX_CONNECTIONS.
TEST(HttpConnectionCapTest, ConfigAndEnvironmentSetTheCap) {
  TempDir dir;
  auto load = [&](const std::string& text, api::AppConfig* config) {
    const auto path = dir.path / "config.json";
    std::ofstream(path) << text;
    return api::load_config(path.string(), config);
  };
  api::AppConfig config;
  EXPECT_EQ(config.max_connections, 0u);  // from the file limit
  EXPECT_EQ(load(R"({"max_connections": 500})", &config), "");
  EXPECT_EQ(config.max_connections, 500u);
  ::setenv("ORCH_MAX_CONNECTIONS", "700", 1);
  EXPECT_EQ(load(R"({"max_connections": 500})", &config), "");
  EXPECT_EQ(config.max_connections, 700u);
  ::setenv("ORCH_MAX_CONNECTIONS", "many", 1);
  EXPECT_NE(load("{}", &config), "");
  ::unsetenv("ORCH_MAX_CONNECTIONS");
  for (const char* bad : {R"({"max_connections": -1})", R"({"max_connections": "many"})",
                          R"({"max_connections": 100000000})"}) {
    EXPECT_NE(load(bad, &config), "") << bad;
  }
}

}  // namespace
}  // namespace orch::testing
