// IoThreadTransport: HTTP on its own thread, results back on the caller's
// io_context thread, timeouts and retries as HttpClient's, and a stop with
// calls in flight that runs none of their callbacks.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "adapters/http/io_thread_transport.h"
#include "adapters/sandbox/sandbox.h"
#include "tests/support/mock_http_server.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using std::chrono::milliseconds;
namespace net = boost::asio;

// The caller's side: an io_context run by one thread, like the engine's.
class Home {
 public:
  Home() : work_(net::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~Home() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  net::io_context& io() { return io_; }
  std::thread::id id() const { return thread_.get_id(); }
  // Runs `fn` on the home thread and waits for it.
  void run(std::function<void()> fn) {
    std::promise<void> done;
    net::post(io_, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  net::io_context io_{1};
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::thread thread_;
};

http::Request get(const std::string& target) {
  http::Request r;
  r.method = "GET";
  r.target = target;
  return r;
}

TEST(IoThreadTransportTest, ManyCallsAnswerOnTheCallersThread) {
  MockHttpServer mock;
  mock.script("GET", "/ok", {reply(200, R"({"ok":true})", {}, milliseconds(5))});
  Home home;
  http::IoThreadTransport transport(home.io());
  constexpr int kCalls = 500;
  std::atomic<int> answered{0}, on_home{0}, ok{0};
  std::promise<void> all;
  home.run([&] {
    for (int i = 0; i < kCalls; ++i)
      transport.send(mock.base_url(), get("/ok?i=" + std::to_string(i)), {},
                     [&](http::CallResult r) {
                       if (std::this_thread::get_id() == home.id()) ++on_home;
                       if (r.ok() && r.response.status == 200 && r.response.body == R"({"ok":true})")
                         ++ok;
                       if (++answered == kCalls) all.set_value();
                     });
  });
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_EQ(on_home.load(), kCalls);
  EXPECT_EQ(ok.load(), kCalls);
  EXPECT_EQ(mock.count("/ok"), kCalls);
}

TEST(IoThreadTransportTest, RetriesAndTimeoutsBehaveAsTheClientsDo) {
  MockHttpServer mock;
  mock.script("GET", "/flaky", {reply(503), reply(200, "fine")});
  mock.script("GET", "/slow", {reply(200, "late", {}, milliseconds(2000))});
  Home home;
  http::IoThreadTransport transport(home.io());
  http::CallOptions options;
  options.initial_backoff = milliseconds(1);
  std::promise<http::CallResult> flaky, slow;
  home.run([&] {
    transport.send(mock.base_url(), get("/flaky"), options,
                   [&](http::CallResult r) { flaky.set_value(std::move(r)); });
    http::CallOptions short_timeout;
    short_timeout.timeout = milliseconds(100);
    short_timeout.max_retries = 0;
    transport.send(mock.base_url(), get("/slow"), short_timeout,
                   [&](http::CallResult r) { slow.set_value(std::move(r)); });
  });
  http::CallResult f = flaky.get_future().get();
  EXPECT_TRUE(f.ok());
  EXPECT_EQ(f.response.body, "fine");
  EXPECT_EQ(f.attempts, 2);
  http::CallResult s = slow.get_future().get();
  EXPECT_EQ(s.error, http::TransportError::timeout);
}

TEST(IoThreadTransportTest, StopWithCallsInFlightRunsNoneOfTheirCallbacks) {
  MockHttpServer mock;
  mock.script("GET", "/hang", {reply(200, "", {}, milliseconds(5000))});
  Home home;
  std::atomic<int> called{0};
  {
    http::IoThreadTransport transport(home.io());
    home.run([&] {
      for (int i = 0; i < 20; ++i)
        transport.send(mock.base_url(), get("/hang"), {}, [&](http::CallResult) { ++called; });
    });
    while (mock.count("/hang") < 20) std::this_thread::sleep_for(milliseconds(1));
    transport.stop();
    transport.stop();  // idempotent
  }  // and destroyed
  home.run([] {});
  EXPECT_EQ(called.load(), 0);
}

TEST(IoThreadTransportTest, ACampaignRunsWithOutboundHttpOnItsOwnThread) {
  TempDir dir;
  api::AppConfig config = test_config(dir.path);
  config.outbound_io_thread = true;
  api::OrchestratorApp app(config);
  ASSERT_EQ(app.start(), "");
  ApiClient client(app.base_url());
  HttpReply started = client.post("/v1/campaigns", sample_campaign());
  ASSERT_EQ(started.status, 201) << started.raw;
  const std::string id = started.body["workflow_id"];
  client.wait_for_status(id, "awaiting_approval");
  ASSERT_EQ(client.post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}}).status,
            202);
  client.wait_for_status(id, "completed");
  const nlohmann::json ledger = app.sandbox()->ledger_for(id);
  EXPECT_EQ(ledger["side_effects"].size(), 15u);
  for (const nlohmann::json& e : ledger["side_effects"]) EXPECT_EQ(e.value("replays", -1), 0);
  app.stop();
}

}  // namespace
}  // namespace orch::testing
