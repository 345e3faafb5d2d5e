// The sandbox's rewards fake over real HTTP: POST /v1/credits paid once per
// Idempotency-Key (a repeat answered from the ledger and counted apart, the
// key reused with another body refused), its validation, GET
// /sandbox/credits by customer and in summary, and the general faults
// (transient and permanent) applied to it.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "adapters/http/http_client.h"
#include "adapters/sandbox/sandbox.h"
#include "tests/support/sandbox_fixture.h"

namespace orch {
namespace {

using nlohmann::json;
using testing::body_json;
using testing::TestClient;
using testing::TestSandbox;

json credit_body(const std::string& customer, double amount, const std::string& currency = "USD") {
  return {{"customer_id", customer}, {"amount", amount}, {"currency", currency}};
}

class SandboxRewardsTest : public ::testing::Test {
 protected:
  http::CallResult credit(const json& body, const std::string& key,
                          http::CallOptions options = TestClient::no_retries()) {
    http::Headers h = {{"Authorization", "Bearer test-token"}};
    if (!key.empty()) h.emplace_back("Idempotency-Key", key);
    return client.call(sb.base_url(), "POST", "/v1/credits", body.dump(), h, options);
  }
  json control(const std::string& method, const std::string& target, const json& body = nullptr) {
    auto r = client.call(sb.base_url(), method, target, body.is_null() ? "" : body.dump());
    EXPECT_TRUE(r.ok()) << r.error_message;
    return body_json(r.response);
  }
  // The rewards error message of an answer ("" when it has none).
  static std::string error_message(const http::Response& r) {
    const json b = body_json(r);
    if (!b.is_object() || !b.contains("error") || !b["error"].is_object()) return "";
    return b["error"].value("message", "");
  }

  TestSandbox sb;
  TestClient client;
};

TEST_F(SandboxRewardsTest, ACreditIsAppliedAndListed) {
  auto r = credit(credit_body("cust-1", 10), "order-7:reward");
  ASSERT_TRUE(r.ok()) << r.error_message;
  ASSERT_EQ(r.response.status, 201) << r.response.body;
  EXPECT_FALSE(r.response.header("Idempotent-Replayed"));
  const json c = body_json(r.response);
  EXPECT_EQ(c["credit_id"].get<std::string>().rfind("cr_", 0), 0u) << c;
  EXPECT_EQ(c["customer_id"], "cust-1");
  EXPECT_EQ(c["amount"], 10.0);
  EXPECT_EQ(c["currency"], "USD");
  EXPECT_TRUE(c["created_at"].is_number_integer());
  EXPECT_FALSE(c.contains("replayed"));

  const json all = control("GET", "/sandbox/credits");
  EXPECT_EQ(all["count"], 1);
  EXPECT_EQ(all["replays"], 0);
  EXPECT_EQ(all["total_amount"], 10.0);
  ASSERT_EQ(all["credits"].size(), 1u);
  const json& listed = all["credits"][0];
  EXPECT_EQ(listed["credit_id"], c["credit_id"]);
  EXPECT_EQ(listed["customer_id"], "cust-1");
  EXPECT_EQ(listed["idempotency_key"], "order-7:reward");
  EXPECT_EQ(listed["created_at"], c["created_at"]);
  EXPECT_EQ(listed["replays"], 0);
  EXPECT_EQ(sb.sandbox().credits(), all);

  // One ledger entry, its recipient the customer.
  const json ledger = sb.sandbox().ledger_for("order-7");
  ASSERT_EQ(ledger["side_effects"].size(), 1u);
  EXPECT_EQ(ledger["side_effects"][0]["service"], "rewards");
  EXPECT_EQ(ledger["side_effects"][0]["status"], 201);
  EXPECT_EQ(ledger["side_effects"][0]["recipient"], "cust-1");
}

TEST_F(SandboxRewardsTest, ARepeatedKeyAnswersTheFirstCreditAndCountsAsAReplay) {
  const json body = credit_body("cust-1", 12.5, "EUR");
  auto first = credit(body, "evt-1:reward");
  ASSERT_EQ(first.response.status, 201);
  auto again = credit(body, "evt-1:reward");
  ASSERT_EQ(again.response.status, 200) << again.response.body;
  EXPECT_EQ(again.response.header("Idempotent-Replayed").value_or(""), "true");
  const json replay = body_json(again.response);
  EXPECT_EQ(replay["replayed"], true);
  EXPECT_EQ(replay["credit_id"], body_json(first.response)["credit_id"]);
  EXPECT_EQ(replay["created_at"], body_json(first.response)["created_at"]);
  // The same fields in another order and spelling (12.50) are the same body.
  auto reordered =
      client.call(sb.base_url(), "POST", "/v1/credits",
                  R"({"currency":"EUR","amount":12.50,"customer_id":"cust-1"})",
                  {{"Authorization", "Bearer t"}, {"Idempotency-Key", "evt-1:reward"}});
  EXPECT_EQ(reordered.response.status, 200) << reordered.response.body;

  const json all = control("GET", "/sandbox/credits");
  EXPECT_EQ(all["count"], 1);
  EXPECT_EQ(all["replays"], 2);
  EXPECT_EQ(all["total_amount"], 12.5);
  EXPECT_EQ(all["credits"][0]["replays"], 2);
  EXPECT_EQ(sb.sandbox().attempts_for("evt-1:reward"),
            json({{"key", "evt-1:reward"}, {"attempts", 3}, {"successes", 1}, {"replays", 2}}));
  EXPECT_EQ(sb.sandbox().ledger_summary()["side_effects"], 1);
  EXPECT_EQ(sb.sandbox().ledger_summary()["replays"], 2);
}

TEST_F(SandboxRewardsTest, AKeyReusedWithAnotherBodyIsRefused) {
  ASSERT_EQ(credit(credit_body("cust-1", 10), "evt-2:reward").response.status, 201);
  for (const json& other : {credit_body("cust-1", 11), credit_body("cust-2", 10),
                            credit_body("cust-1", 10, "GBP"), json{{"customer_id", "cust-1"}}}) {
    auto r = credit(other, "evt-2:reward");
    EXPECT_EQ(r.response.status, 422) << other;
    EXPECT_FALSE(r.response.header("Idempotent-Replayed")) << other;
    EXPECT_NE(error_message(r.response).find("same parameters"), std::string::npos)
        << r.response.body;
  }
  // Neither a second credit nor a replay; the first body still replays.
  json all = control("GET", "/sandbox/credits");
  EXPECT_EQ(all["count"], 1);
  EXPECT_EQ(all["replays"], 0);
  EXPECT_EQ(credit(credit_body("cust-1", 10), "evt-2:reward").response.status, 200);
  EXPECT_EQ(control("GET", "/sandbox/credits?summary=true")["replays"], 1);
  EXPECT_EQ(sb.sandbox().attempts_for("evt-2:reward")["replays"], 1);
}

TEST_F(SandboxRewardsTest, InvalidRequestsApplyNothing) {
  struct Case {
    json body;
    std::string key;
    int status;
    std::string message;  // a part of the error's message
  };
  const Case cases[] = {
      {credit_body("cust-1", 10), "", 400, "Idempotency-Key"},
      {json{{"amount", 10}, {"currency", "USD"}}, "k:1", 400, "customer_id"},
      {credit_body("", 10), "k:2", 400, "customer_id"},
      {json{{"customer_id", "c"}, {"amount", "10"}, {"currency", "USD"}}, "k:3", 400, "amount"},
      {json{{"customer_id", "c"}, {"amount", 10}}, "k:4", 400, "currency"},
      {credit_body("c", 0), "k:5", 422, "amount must be greater than 0"},
      {credit_body("c", -5), "k:6", 422, "amount must be greater than 0"},
      {credit_body("c", 10, "usd"), "k:7", 422, "currency"},
      {credit_body("c", 10, "DOLLARS"), "k:8", 422, "currency"},
  };
  for (const Case& c : cases) {
    auto r = credit(c.body, c.key);
    EXPECT_EQ(r.response.status, c.status) << c.body;
    EXPECT_NE(error_message(r.response).find(c.message), std::string::npos) << r.response.body;
  }
  // A body that is not JSON, and no credentials.
  auto not_json = client.call(sb.base_url(), "POST", "/v1/credits", "amount=10",
                              {{"Authorization", "Bearer t"}, {"Idempotency-Key", "k:9"}});
  EXPECT_EQ(not_json.response.status, 400);
  auto anonymous = client.call(sb.base_url(), "POST", "/v1/credits", credit_body("c", 10).dump(),
                               {{"Idempotency-Key", "k:10"}});
  EXPECT_EQ(anonymous.response.status, 401);
  EXPECT_FALSE(error_message(anonymous.response).empty()) << anonymous.response.body;
  EXPECT_EQ(client.call(sb.base_url(), "GET", "/v1/credits").response.status, 405);

  EXPECT_EQ(
      control("GET", "/sandbox/credits"),
      json({{"count", 0}, {"replays", 0}, {"total_amount", 0.0}, {"credits", json::array()}}));
  EXPECT_EQ(sb.sandbox().ledger_summary()["side_effects"], 0);
  // A key refused for its body may be used again with a good one.
  EXPECT_EQ(credit(credit_body("c", 10), "k:5").response.status, 201);
}

TEST_F(SandboxRewardsTest, CreditsAreFilteredByCustomer) {
  ASSERT_EQ(credit(credit_body("alice", 10), "e:1").response.status, 201);
  ASSERT_EQ(credit(credit_body("bob", 5), "e:2").response.status, 201);
  ASSERT_EQ(credit(credit_body("alice", 2.5), "e:3").response.status, 201);
  ASSERT_EQ(credit(credit_body("alice", 2.5), "e:3").response.status, 200);  // a replay
  ASSERT_EQ(credit(credit_body("bob", 5), "e:2").response.status, 200);      // a replay
  ASSERT_EQ(credit(credit_body("bob", 5), "e:2").response.status, 200);      // a replay

  const json alice = control("GET", "/sandbox/credits?customer_id=alice");
  EXPECT_EQ(alice["customer_id"], "alice");
  EXPECT_EQ(alice["count"], 2);
  EXPECT_EQ(alice["replays"], 1);
  EXPECT_EQ(alice["total_amount"], 12.5);
  ASSERT_EQ(alice["credits"].size(), 2u);
  EXPECT_EQ(alice["credits"][0]["idempotency_key"], "e:1");
  EXPECT_EQ(alice["credits"][1]["idempotency_key"], "e:3");
  EXPECT_EQ(alice["credits"][1]["replays"], 1);

  EXPECT_EQ(control("GET", "/sandbox/credits?customer_id=bob&summary=true"),
            json({{"customer_id", "bob"}, {"count", 1}, {"replays", 2}, {"total_amount", 5.0}}));
  EXPECT_EQ(sb.sandbox().credits("bob", true),
            control("GET", "/sandbox/credits?customer_id=bob&summary=true"));
  EXPECT_EQ(control("GET", "/sandbox/credits?summary=true"),
            json({{"count", 3}, {"replays", 3}, {"total_amount", 17.5}}));
  EXPECT_EQ(control("GET", "/sandbox/credits?customer_id=nobody"),
            json({{"customer_id", "nobody"},
                  {"count", 0},
                  {"replays", 0},
                  {"total_amount", 0.0},
                  {"credits", json::array()}}));
  EXPECT_EQ(client.call(sb.base_url(), "POST", "/sandbox/credits").response.status, 405);

  control("POST", "/sandbox/reset");
  EXPECT_EQ(control("GET", "/sandbox/credits?summary=true"),
            json({{"count", 0}, {"replays", 0}, {"total_amount", 0.0}}));
  EXPECT_EQ(control("GET", "/sandbox/credits?customer_id=alice")["count"], 0);
}

TEST_F(SandboxRewardsTest, ATransientFaultFailsAttemptsAndTheRetryPaysOnce) {
  control("POST", "/sandbox/faults",
          {{"path_prefix", "/v1/credits"}, {"status", 503}, {"first_attempt_only", true}});
  auto failed = credit(credit_body("cust-1", 10), "evt-3:reward");
  EXPECT_EQ(failed.response.status, 503);
  EXPECT_EQ(control("GET", "/sandbox/credits?summary=true")["count"], 0);
  EXPECT_EQ(credit(credit_body("cust-1", 10), "evt-3:reward").response.status, 201);
  EXPECT_EQ(credit(credit_body("cust-1", 10), "evt-3:reward").response.status, 200);

  // With the transport's retries, a key gets through on its second attempt.
  http::CallOptions retrying;
  retrying.max_retries = 2;
  retrying.initial_backoff = std::chrono::milliseconds(1);
  auto r = credit(credit_body("cust-2", 10), "evt-4:reward", retrying);
  EXPECT_EQ(r.response.status, 201);
  EXPECT_EQ(r.attempts, 2);

  const json all = control("GET", "/sandbox/credits?summary=true");
  EXPECT_EQ(all["count"], 2);
  EXPECT_EQ(all["replays"], 1);
  EXPECT_EQ(sb.sandbox().attempts_for("evt-3:reward")["attempts"], 3);
  EXPECT_EQ(sb.sandbox().ledger_summary()["faults_injected"], 2);
}

TEST_F(SandboxRewardsTest, APermanentFaultAnswersTheServicesOwnError) {
  control("POST", "/sandbox/faults",
          {{"path_prefix", "/v1/credits"}, {"status", 422}, {"error", "currency not supported"}});
  for (int i = 0; i < 3; ++i) {
    auto r = credit(credit_body("cust-1", 10), "evt-5:reward");
    EXPECT_EQ(r.response.status, 422);
    EXPECT_EQ(body_json(r.response), json({{"error", {{"message", "currency not supported"}}}}));
  }
  EXPECT_EQ(control("GET", "/sandbox/credits?summary=true")["count"], 0);
  control("DELETE", "/sandbox/faults");
  EXPECT_EQ(credit(credit_body("cust-1", 10), "evt-5:reward").response.status, 201);
}

// A fault's recipients are customer ids for credits: one customer's
// credits fail, the others' are paid.
TEST_F(SandboxRewardsTest, AFaultCanTargetOneCustomer) {
  control(
      "POST", "/sandbox/faults",
      {{"path_prefix", "/v1/credits"}, {"status", 500}, {"recipients", json::array({"cust-bad"})}});
  EXPECT_EQ(credit(credit_body("cust-bad", 10), "evt-6:a").response.status, 500);
  EXPECT_EQ(credit(credit_body("cust-good", 10), "evt-6:b").response.status, 201);
  EXPECT_EQ(control("GET", "/sandbox/credits?customer_id=cust-bad&summary=true")["count"], 0);
  EXPECT_EQ(control("GET", "/sandbox/credits?customer_id=cust-good&summary=true")["count"], 1);
}

// Many credits through the handler alone: the totals stay exact and the
// summary does not walk the credits.
TEST(SandboxRewardsDirect, TenThousandCreditsAndTheirSummary) {
  TestSandbox sb;  // only for its io thread
  constexpr int kCredits = 10'000;
  constexpr int kCustomers = 100;
  int created = 0;
  int replayed = 0;
  for (int i = 0; i < kCredits + kCustomers; ++i) {
    // The last kCustomers requests repeat the first keys.
    const int n = i < kCredits ? i : i - kCredits;
    http::Request req;
    req.method = "POST";
    req.target = "/v1/credits";
    req.headers = {{"Authorization", "Bearer t"}, {"Idempotency-Key", "bulk:" + std::to_string(n)}};
    req.body = credit_body("cust-" + std::to_string(n % kCustomers), 2).dump();
    std::promise<http::Response> p;
    sb.sandbox().handle(std::move(req), [&](http::Response r) { p.set_value(std::move(r)); });
    const int status = p.get_future().get().status;
    created += status == 201;
    replayed += status == 200;
  }
  EXPECT_EQ(created, kCredits);
  EXPECT_EQ(replayed, kCustomers);
  EXPECT_EQ(sb.sandbox().credits("", true),
            json({{"count", kCredits}, {"replays", kCustomers}, {"total_amount", 2.0 * kCredits}}));
  EXPECT_EQ(sb.sandbox().credits("cust-7", true),
            json({{"customer_id", "cust-7"},
                  {"count", kCredits / kCustomers},
                  {"replays", 1},
                  {"total_amount", 2.0 * kCredits / kCustomers}}));
  EXPECT_EQ(sb.sandbox().credits("cust-7")["credits"].size(),
            static_cast<std::size_t>(kCredits / kCustomers));
}

}  // namespace
}  // namespace orch
