// The rewards adapter against the scripted mock server: the request the
// service receives (path, body, auth, Idempotency-Key, traceparent), the
// value of a new and of a replayed credit, the outcome of every kind of
// answer (201, 200, 400, 422, 429, 503, a timeout, an unusable body), its
// transport retries, and its place behind the service's guard in
// CampaignAdapters; then against the sandbox's fake, end to end.
#include "adapters/services/rewards_adapter.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "adapters/resilience/service_guard.h"
#include "adapters/services/campaign_adapters.h"
#include "engine/time/clock.h"
#include "phases/ports.h"
#include "tests/support/mock_http_server.h"
#include "tests/support/sandbox_fixture.h"

namespace orch::testing {
namespace {

namespace net = boost::asio;
using nlohmann::json;
using phases::CallContext;
using phases::ServiceCallback;
using phases::ServiceOutcome;
using phases::ServiceResult;
using std::chrono::milliseconds;

constexpr const char* kPath = "/v1/credits";
constexpr const char* kToken = "rw-secret-token-42";
constexpr const char* kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr const char* kCreated =
    R"({"credit_id":"cr_1","customer_id":"cust-1","amount":10.0,"currency":"USD","created_at":1700000000})";

CallContext ctx(const std::string& key = "evt-1:reward", int transport_retries = -1) {
  CallContext c;
  c.idempotency_key = key;
  c.timeout = std::chrono::seconds(5);
  c.traceparent = kTraceparent;
  c.transport_retries = transport_retries;
  return c;
}

class RewardsAdapterTest : public ::testing::Test {
 protected:
  RewardsAdapterTest()
      : adapter(client.client(),
                adapters::ServiceEndpoint{
                    mock.base_url(), kToken, {{"max_retries", "2"}, {"initial_backoff_ms", "1"}}}) {
  }

  ServiceResult credit(const CallContext& c, const std::string& customer = "cust-1",
                       double amount = 10, const std::string& currency = "USD") {
    ServiceResult r = TestClient::await(
        [&](ServiceCallback cb) { adapter.credit(c, customer, amount, currency, std::move(cb)); });
    EXPECT_EQ(r.error.find(kToken), std::string::npos) << r.error;
    return r;
  }

  MockHttpServer mock;
  TestClient client;
  adapters::RewardsAdapter adapter;
};

TEST_F(RewardsAdapterTest, SendsTheCreditAsTheServiceExpects) {
  mock.script("POST", kPath, {reply(201, kCreated)});
  ServiceResult r = credit(ctx(), "cust-1", 10, "USD");
  EXPECT_EQ(r.outcome, ServiceOutcome::ok) << r.error;
  EXPECT_EQ(r.http_status, 201);
  EXPECT_EQ(r.value, json({{"credit_id", "cr_1"}, {"replayed", false}}));

  ASSERT_EQ(mock.count(kPath), 1);
  const http::Request req = *mock.last(kPath);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, kPath);
  EXPECT_EQ(req.header("Authorization").value_or(""), std::string("Bearer ") + kToken);
  EXPECT_EQ(req.header("Idempotency-Key").value_or(""), "evt-1:reward");
  EXPECT_EQ(req.header("traceparent").value_or(""), kTraceparent);
  EXPECT_EQ(req.header("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(req.header("Accept").value_or(""), "application/json");
  EXPECT_EQ(json::parse(req.body),
            json({{"customer_id", "cust-1"}, {"amount", 10.0}, {"currency", "USD"}}));

  // A fractional amount is sent as it is.
  credit(ctx("evt-2:reward"), "cust-2", 12.34, "EUR");
  EXPECT_EQ(mock.last(kPath)->body, R"({"amount":12.34,"currency":"EUR","customer_id":"cust-2"})");
}

TEST_F(RewardsAdapterTest, AReplayIsReportedFromTheHeaderOrTheField) {
  mock.script("POST", kPath,
              {reply(200, kCreated, {{"Idempotent-Replayed", "true"}}),
               reply(200, R"({"credit_id":"cr_1","replayed":true})"),
               reply(200, R"({"credit_id":"cr_1"})")});
  ServiceResult by_header = credit(ctx());
  EXPECT_EQ(by_header.outcome, ServiceOutcome::ok) << by_header.error;
  EXPECT_EQ(by_header.http_status, 200);
  EXPECT_EQ(by_header.value, json({{"credit_id", "cr_1"}, {"replayed", true}}));
  EXPECT_EQ(credit(ctx()).value["replayed"], true);
  EXPECT_EQ(credit(ctx()).value["replayed"], false);
}

TEST_F(RewardsAdapterTest, A422IsPermanentWithTheServicesReasonAndNotRetried) {
  mock.script("POST", kPath,
              {reply(422, R"({"error":{"message":"currency not supported","param":"currency"}})")});
  ServiceResult r = credit(ctx(), "cust-1", 10, "XTS");
  EXPECT_EQ(r.outcome, ServiceOutcome::permanent);
  EXPECT_EQ(r.http_status, 422);
  EXPECT_NE(
      r.error.find("rewards POST /v1/credits failed: HTTP 422: rewards: currency not supported"),
      std::string::npos)
      << r.error;
  EXPECT_EQ(mock.count(kPath), 1);

  mock.script("POST", kPath, {reply(400, R"({"error":{"message":"amount must be a number"}})")});
  ServiceResult bad = credit(ctx("evt-3:reward"));
  EXPECT_EQ(bad.outcome, ServiceOutcome::permanent);
  EXPECT_NE(bad.error.find("HTTP 400: rewards: amount must be a number"), std::string::npos)
      << bad.error;
  EXPECT_EQ(mock.count(kPath), 2);
}

TEST_F(RewardsAdapterTest, A503IsRetriedByTheTransportThenRetryable) {
  mock.script("POST", kPath, {reply(503, R"({"error":{"message":"try later"}})")});
  ServiceResult r = credit(ctx());
  EXPECT_EQ(r.outcome, ServiceOutcome::retryable);
  EXPECT_EQ(r.http_status, 503);
  EXPECT_NE(r.error.find("HTTP 503: rewards: try later"), std::string::npos) << r.error;
  // The setting max_retries 2: three requests, all with the same key.
  EXPECT_EQ(mock.count(kPath), 3);
  for (const http::Request& req : mock.received())
    EXPECT_EQ(req.header("Idempotency-Key").value_or(""), "evt-1:reward");

  // transport_retries 0: one call is one request; Retry-After is passed on.
  mock.reset();
  mock.script("POST", kPath, {reply(503, "", {{"Retry-After", "7"}})});
  ServiceResult once = credit(ctx("evt-4:reward", 0));
  EXPECT_EQ(once.outcome, ServiceOutcome::retryable);
  EXPECT_EQ(once.retry_after, std::chrono::seconds(7));
  EXPECT_EQ(mock.count(kPath), 1);
}

TEST_F(RewardsAdapterTest, A429IsRetryableAfterRetryAfter) {
  mock.script("POST", kPath, {reply(429, "", {{"Retry-After", "3"}})});
  ServiceResult r = credit(ctx("evt-5:reward", 0));
  EXPECT_EQ(r.outcome, ServiceOutcome::retryable);
  EXPECT_EQ(r.http_status, 429);
  EXPECT_EQ(r.retry_after, std::chrono::seconds(3));
}

TEST_F(RewardsAdapterTest, ATransientFailureIsAbsorbedByTheTransportRetries) {
  mock.script("POST", kPath, {reply(503), reply(201, kCreated)});
  ServiceResult r = credit(ctx());
  EXPECT_EQ(r.outcome, ServiceOutcome::ok) << r.error;
  EXPECT_EQ(r.value["credit_id"], "cr_1");
  EXPECT_EQ(mock.count(kPath), 2);
}

TEST_F(RewardsAdapterTest, ATimeoutIsRetryable) {
  mock.script("POST", kPath, {reply(201, kCreated, {}, std::chrono::seconds(3))});
  CallContext c = ctx("evt-6:reward", 0);
  c.timeout = milliseconds(100);
  ServiceResult r = credit(c);
  EXPECT_EQ(r.outcome, ServiceOutcome::retryable) << r.error;
  EXPECT_EQ(r.http_status, 0);
}

TEST_F(RewardsAdapterTest, AnUnusableAnswerIsPermanent) {
  mock.script("POST", kPath, {reply(201, R"({"customer_id":"cust-1"})"), reply(201, "not json")});
  ServiceResult no_id = credit(ctx());
  EXPECT_EQ(no_id.outcome, ServiceOutcome::permanent);
  EXPECT_NE(no_id.error.find("no credit_id"), std::string::npos) << no_id.error;
  EXPECT_EQ(credit(ctx()).outcome, ServiceOutcome::permanent);
}

// A credit without a key could be paid twice, and an amount that is not a
// number cannot be written: both fail at once, nothing sent.
TEST_F(RewardsAdapterTest, RefusesWithoutAKeyOrAFiniteAmount) {
  mock.script("POST", kPath, {reply(201, kCreated)});
  ServiceResult no_key = credit(ctx(""));
  EXPECT_EQ(no_key.outcome, ServiceOutcome::permanent);
  EXPECT_NE(no_key.error.find("Idempotency-Key"), std::string::npos) << no_key.error;
  ServiceResult nan = credit(ctx(), "cust-1", std::nan(""));
  EXPECT_EQ(nan.outcome, ServiceOutcome::permanent);
  EXPECT_EQ(mock.count(kPath), 0);
}

// CampaignAdapters builds the adapter from the "rewards" service's config
// and protect() puts it behind that service's guard: a forced-open breaker
// sends nothing, and retries go through the guard's scheduler.
TEST(RewardsAdapterGuard, CampaignAdaptersProtectsRewards) {
  MockHttpServer mock;
  TestClient client;
  adapters::AdapterConfig config = adapters::AdapterConfig::pointing_at(mock.base_url());
  ASSERT_EQ(config.services.count("rewards"), 1u);
  config.services["rewards"].token = kToken;
  config.services["rewards"].settings["initial_backoff_ms"] = "1";
  adapters::CampaignAdapters all(client.client(), config);
  engine::ManualClock clock;
  adapters::ServiceGuards guards(config, clock, nullptr);
  all.protect(
      guards,
      [&client](milliseconds delay, std::function<void()> fn) {
        auto timer = std::make_shared<net::steady_timer>(client.io(), delay);
        timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
          if (!ec) fn();
        });
      },
      nullptr);
  EXPECT_EQ(all.rewards().service_name(), "rewards");
  auto call = [&](const std::string& key) {
    return TestClient::await([&](ServiceCallback cb) {
      net::post(client.io(), [&all, key, cb = std::move(cb)]() mutable {
        all.rewards().credit(ctx(key), "cust-1", 10, "USD", std::move(cb));
      });
    });
  };

  adapters::ServiceGuard* guard = guards.find("rewards");
  ASSERT_NE(guard, nullptr);
  guard->breaker().force(resilience::BreakerState::forced_open);
  mock.script("POST", kPath, {reply(201, kCreated)});
  ServiceResult refused = call("evt-7:reward");
  EXPECT_EQ(refused.outcome, ServiceOutcome::unavailable);
  EXPECT_EQ(mock.count(kPath), 0);

  guard->breaker().force(resilience::BreakerState::closed);
  mock.script("POST", kPath, {reply(503), reply(201, kCreated)});
  ServiceResult paid = call("evt-8:reward");
  EXPECT_EQ(paid.outcome, ServiceOutcome::ok) << paid.error;
  EXPECT_EQ(mock.count(kPath), 2);
  EXPECT_EQ(mock.last(kPath)->header("Authorization").value_or(""),
            std::string("Bearer ") + kToken);
}

// Against the sandbox's fake: a credit, its replay, a key reused with
// another amount, and the sandbox's faults seen as the engine sees them.
TEST(RewardsAdapterSandbox, EndToEnd) {
  TestSandbox sb;
  TestClient client;
  adapters::AdapterConfig config = adapters::AdapterConfig::pointing_at(sb.base_url());
  config.services["rewards"].settings["max_retries"] = "0";
  adapters::CampaignAdapters all(client.client(), config);
  auto credit = [&](const std::string& key, double amount) {
    return TestClient::await([&](ServiceCallback cb) {
      all.rewards().credit(ctx(key), "cust-1", amount, "USD", std::move(cb));
    });
  };

  ServiceResult first = credit("order-1:reward", 10);
  ASSERT_EQ(first.outcome, ServiceOutcome::ok) << first.error;
  EXPECT_EQ(first.http_status, 201);
  EXPECT_EQ(first.value["replayed"], false);
  ServiceResult again = credit("order-1:reward", 10);
  ASSERT_EQ(again.outcome, ServiceOutcome::ok) << again.error;
  EXPECT_EQ(again.value, json({{"credit_id", first.value["credit_id"]}, {"replayed", true}}));
  ServiceResult reused = credit("order-1:reward", 20);
  EXPECT_EQ(reused.outcome, ServiceOutcome::permanent);
  EXPECT_NE(reused.error.find("HTTP 422: rewards: Keys for idempotent requests"), std::string::npos)
      << reused.error;

  TestClient control;
  control.call(sb.base_url(), "POST", "/sandbox/faults",
               R"({"path_prefix":"/v1/credits","status":503,"first_attempt_only":true})");
  EXPECT_EQ(credit("order-2:reward", 10).outcome, ServiceOutcome::retryable);
  EXPECT_EQ(credit("order-2:reward", 10).outcome, ServiceOutcome::ok);
  control.call(sb.base_url(), "DELETE", "/sandbox/faults");
  control.call(sb.base_url(), "POST", "/sandbox/faults",
               R"({"path_prefix":"/v1/credits","status":422,"error":"currency not supported"})");
  ServiceResult refused = credit("order-3:reward", 10);
  EXPECT_EQ(refused.outcome, ServiceOutcome::permanent);
  EXPECT_NE(refused.error.find("HTTP 422: rewards: currency not supported"), std::string::npos)
      << refused.error;

  EXPECT_EQ(
      sb.sandbox().credits("cust-1", true),
      json({{"customer_id", "cust-1"}, {"count", 2}, {"replays", 1}, {"total_amount", 20.0}}));
}

}  // namespace
}  // namespace orch::testing
