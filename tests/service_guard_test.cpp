// An adapter behind its service's resilience pipeline, against the scripted
// mock server: failures open the breaker and open means nothing is sent;
// half-open probes close it; 4xx never trips it; slow calls do; the bulkhead
// refuses beyond its limit; the retry budget caps amplification; Retry-After
// is honoured.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <future>
#include <thread>

#include "adapters/http/http_client.h"
#include "adapters/resilience/service_guard.h"
#include "adapters/services/slack_adapter.h"
#include "tests/support/mock_http_server.h"

namespace orch::testing {
namespace {

namespace net = boost::asio;
using phases::ServiceOutcome;
using phases::ServiceResult;
using std::chrono::milliseconds;
constexpr const char* kPath = "/api/chat.postMessage";

class ServiceGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    net::post(io_, [this] {
      adapter_.reset();
      client_.reset();
      work_.reset();
    });
    thread_.join();
  }

  // Builds a Slack adapter with these settings behind a fresh guard.
  void build(std::map<std::string, std::string> settings) {
    adapters::ServiceEndpoint endpoint{mock_.base_url(), "xoxb-secret-token", std::move(settings)};
    guard_ = std::make_unique<adapters::ServiceGuard>("slack", endpoint, clock_, nullptr);
    std::promise<void> ready;
    net::post(io_, [&, endpoint] {
      client_ = std::make_unique<http::HttpClient>(io_);
      adapter_ = std::make_unique<adapters::SlackAdapter>(*client_, endpoint);
      adapter_->protect(
          guard_.get(),
          [this](milliseconds delay, std::function<void()> fn) {
            auto timer = std::make_shared<net::steady_timer>(io_, delay);
            timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
              if (!ec) fn();
            });
          },
          nullptr);
      ready.set_value();
    });
    ready.get_future().wait();
  }

  // A call from a new step each time, or from the step `key` names.
  std::future<ServiceResult> post(std::string key = "") {
    auto promise = std::make_shared<std::promise<ServiceResult>>();
    auto future = promise->get_future();
    if (key.empty()) key = "wf:notify" + std::to_string(++calls_);
    net::post(io_, [this, promise, key] {
      phases::CallContext ctx{key, milliseconds(5000), "", -1, ""};
      adapter_->post_message(ctx, "#c", "hello",
                             [promise](ServiceResult r) { promise->set_value(std::move(r)); });
    });
    return future;
  }
  ServiceResult call(std::string key = "") { return post(std::move(key)).get(); }
  resilience::BreakerState state() { return guard_->breaker().snapshot().state; }

  engine::ManualClock clock_;
  MockHttpServer mock_;
  net::io_context io_{1};
  net::executor_work_guard<net::io_context::executor_type> work_ = net::make_work_guard(io_);
  std::thread thread_;
  std::unique_ptr<adapters::ServiceGuard> guard_;
  std::unique_ptr<http::HttpClient> client_;
  std::unique_ptr<adapters::SlackAdapter> adapter_;
  int calls_ = 0;
};

TEST_F(ServiceGuardTest, FailuresOpenTheBreakerAndNothingIsSentWhileOpen) {
  build({{"breaker_min_calls", "4"}, {"breaker_window", "10"}, {"max_retries", "0"},
         {"breaker_wait_ms", "30000"}, {"breaker_half_open_calls", "2"}});
  mock_.script("POST", kPath, {reply(500, R"({"ok":false})")});
  // A lone caller cannot tell an outage from a bad request: its failure is
  // its own. Once others fail too, the failures are the outage's: the steps
  // wait ("unavailable") instead of using attempts.
  EXPECT_EQ(call().outcome, ServiceOutcome::retryable);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(call().outcome, ServiceOutcome::unavailable);
  // The fourth failing caller trips the breaker.
  ServiceResult tripping = call();
  EXPECT_EQ(tripping.outcome, ServiceOutcome::unavailable);
  EXPECT_EQ(state(), resilience::BreakerState::open);
  for (int i = 0; i < 10; ++i) {
    ServiceResult r = call();
    EXPECT_EQ(r.outcome, ServiceOutcome::unavailable);
    EXPECT_GT(r.retry_after.count(), 0);
    EXPECT_EQ(r.error.find("xoxb-secret-token"), std::string::npos);
  }
  EXPECT_EQ(mock_.count(kPath), 4) << "an open breaker sent calls";

  // After the wait, half-open probes: one failing probe re-opens it...
  clock_.advance(milliseconds(30'001));
  EXPECT_EQ(call().outcome, ServiceOutcome::unavailable);
  EXPECT_EQ(state(), resilience::BreakerState::open);
  EXPECT_EQ(mock_.count(kPath), 5);
  // ...and succeeding probes close it.
  mock_.script("POST", kPath, {reply(200, R"({"ok":true,"channel":"C1","ts":"1.2"})")});
  clock_.advance(milliseconds(30'001));
  EXPECT_EQ(call().outcome, ServiceOutcome::ok);
  EXPECT_EQ(call().outcome, ServiceOutcome::ok);
  EXPECT_EQ(state(), resilience::BreakerState::closed);
}

// A request the service refuses on its own merits while it answers everybody
// else uses the step's attempts, and however often it is retried it never
// trips the breaker for the others. (Before, ten retries of one bad request
// opened the breaker and every step waited on it.)
TEST_F(ServiceGuardTest, APoisonRequestUsesItsAttemptsAndNeverTripsTheBreaker) {
  build({{"breaker_min_calls", "4"}, {"breaker_window", "10"}, {"max_retries", "0"}});
  const ScriptedResponse ok = reply(200, R"({"ok":true,"channel":"C1","ts":"1.2"})");
  const ScriptedResponse failed = reply(500, R"({"ok":false})");
  std::vector<ScriptedResponse> replies(5, ok);
  for (int round = 0; round < 10; ++round) {
    replies.push_back(failed);
    replies.push_back(ok);
  }
  mock_.script("POST", kPath, replies);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(call().outcome, ServiceOutcome::ok);
  for (int round = 0; round < 10; ++round) {
    EXPECT_EQ(call("wf-poison:distribution.email").outcome, ServiceOutcome::retryable) << round;
    EXPECT_EQ(call().outcome, ServiceOutcome::ok) << round;
    EXPECT_EQ(state(), resilience::BreakerState::closed) << round;
  }
  EXPECT_EQ(mock_.count(kPath), 25);
}

// In half-open each caller gets one probe a round, so a request that keeps
// failing cannot take every probe; its failed probe is the outage's.
TEST_F(ServiceGuardTest, HalfOpenGivesEachCallerOneProbe) {
  build({{"breaker_min_calls", "2"}, {"breaker_window", "10"}, {"max_retries", "0"},
         {"breaker_wait_ms", "1000"}, {"breaker_half_open_calls", "3"}});
  mock_.script("POST", kPath, {reply(500, R"({"ok":false})")});
  call();
  call();
  ASSERT_EQ(state(), resilience::BreakerState::open);
  clock_.advance(milliseconds(1001));
  EXPECT_EQ(call("wf-1:step").outcome, ServiceOutcome::unavailable);  // a failed probe
  EXPECT_EQ(state(), resilience::BreakerState::half_open);
  ServiceResult again = call("wf-1:step");  // refused, never sent
  EXPECT_EQ(again.outcome, ServiceOutcome::unavailable);
  EXPECT_NE(again.error.find("half_open"), std::string::npos) << again.error;
  EXPECT_EQ(mock_.count(kPath), 3);
  mock_.script("POST", kPath, {reply(200, R"({"ok":true,"channel":"C1","ts":"1.2"})")});
  EXPECT_EQ(call("wf-2:step").outcome, ServiceOutcome::ok);
  EXPECT_EQ(call("wf-3:step").outcome, ServiceOutcome::ok);
  EXPECT_EQ(state(), resilience::BreakerState::closed);  // 2 of 3 probes succeeded
  EXPECT_EQ(mock_.count(kPath), 5);
}

TEST_F(ServiceGuardTest, ClientErrorsNeverTripIt) {
  build({{"breaker_min_calls", "4"}, {"breaker_window", "10"}, {"max_retries", "0"}});
  mock_.script("POST", kPath, {reply(404, R"({"ok":false,"error":"channel_not_found"})")});
  for (int i = 0; i < 20; ++i) EXPECT_EQ(call().outcome, ServiceOutcome::permanent);
  EXPECT_EQ(state(), resilience::BreakerState::closed);
  EXPECT_EQ(mock_.count(kPath), 20);
}

TEST_F(ServiceGuardTest, WhatCountsAsFailureIsConfigurable) {
  build({{"breaker_min_calls", "4"}, {"breaker_window", "10"}, {"max_retries", "0"},
         {"breaker_failure_statuses", "500-599,409"}});
  mock_.script("POST", kPath, {reply(409, R"({"ok":false,"error":"conflict"})")});
  for (int i = 0; i < 4; ++i) call();
  EXPECT_EQ(state(), resilience::BreakerState::open);
  EXPECT_EQ(mock_.count(kPath), 4);
}

TEST_F(ServiceGuardTest, SlowCallsTripIt) {
  build({{"breaker_min_calls", "3"}, {"breaker_window", "10"}, {"breaker_slow_ms", "50"},
         {"breaker_slow_rate", "1.0"}, {"max_retries", "0"}});
  mock_.script("POST", kPath,
               {reply(200, R"({"ok":true,"channel":"C1","ts":"1.2"})", {}, milliseconds(80))});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call().outcome, ServiceOutcome::ok);
  EXPECT_EQ(state(), resilience::BreakerState::open);
  EXPECT_EQ(call().outcome, ServiceOutcome::unavailable);
}

TEST_F(ServiceGuardTest, TheBulkheadRefusesBeyondItsLimitWithoutSending) {
  build({{"max_concurrent", "2"}, {"max_retries", "0"}});
  mock_.script("POST", kPath,
               {reply(200, R"({"ok":true,"channel":"C1","ts":"1.2"})", {}, milliseconds(200))});
  auto a = post(), b = post(), c = post();
  std::vector<ServiceResult> results = {a.get(), b.get(), c.get()};
  int ok = 0, refused = 0;
  for (const ServiceResult& r : results) {
    ok += r.outcome == ServiceOutcome::ok;
    if (r.outcome == ServiceOutcome::unavailable) {
      ++refused;
      EXPECT_NE(r.error.find("bulkhead"), std::string::npos) << r.error;
    }
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(mock_.count(kPath), 2);
}

TEST_F(ServiceGuardTest, TheRetryBudgetCapsAmplification) {
  constexpr int kCalls = 50;
  build({{"max_retries", "2"}, {"initial_backoff_ms", "1"}, {"retry_budget_ratio", "0.2"},
         {"retry_budget_min", "3"}});
  guard_->breaker().force(resilience::BreakerState::disabled);  // isolate the budget
  mock_.script("POST", kPath, {reply(503)});
  // Every caller fails: the first alone (its own failure), then an outage.
  for (int i = 0; i < kCalls; ++i)
    EXPECT_EQ(call().outcome, i == 0 ? ServiceOutcome::retryable : ServiceOutcome::unavailable);
  // Without a budget: 50 x 3 = 150 requests. With it: 50 + at most 20 %.
  EXPECT_LE(mock_.count(kPath), kCalls + kCalls / 5);
  EXPECT_GE(mock_.count(kPath), kCalls + 3);
}

TEST_F(ServiceGuardTest, RetryAfterIsHonouredBeforeTheRetry) {
  build({{"max_retries", "1"}, {"initial_backoff_ms", "1"}});
  mock_.script("POST", kPath, {reply(503, "", {{"Retry-After", "1"}}),
                               reply(200, R"({"ok":true,"channel":"C1","ts":"1.2"})")});
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(call().outcome, ServiceOutcome::ok);
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(1000));
  EXPECT_EQ(mock_.count(kPath), 2);
}

}  // namespace
}  // namespace orch::testing
