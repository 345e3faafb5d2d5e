// Campaigns with target_user_ids, through the REST API with the sandbox: one
// message per user and messaging channel, each reserved with and committed
// to the user's actor, so caps and opt-outs hold across campaigns; a
// gateway's "unsubscribed recipient" answer opts the user out; a restart in
// the middle of distribution sends nothing twice.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <thread>

#include "adapters/sandbox/sandbox.h"
#include "tests/support/orchestrator_fixture.h"
#include "tests/support/sandbox_fixture.h"

namespace orch::testing {
namespace {

using nlohmann::json;

json users_campaign(const std::string& name, const json& channels, const json& users) {
  json input = sample_campaign(name);
  input["channels"] = channels;
  input["target_user_ids"] = users;
  return input;
}

void put_user(ApiClient& client, const std::string& id, const json& settings) {
  HttpReply r = client.call("PUT", "/v1/users/" + id, settings.dump());
  ASSERT_TRUE(r.status == 200 || r.status == 201) << r.raw;
}

void approve(ApiClient& client, const std::string& id) {
  HttpReply r = client.post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}});
  ASSERT_EQ(r.status, 202) << r.raw;
}

// Polls `done` every 10 ms for up to 10 s.
// The campaign's Twilio sends in the sandbox's ledger, by recipient.
std::map<std::string, int> twilio_sends(const json& ledger) {
  std::map<std::string, int> out;
  for (const json& e : ledger["side_effects"])
    if (e["service"] == "twilio") ++out[e.value("recipient", "")];
  return out;
}

// The outcome of `user` on `channel` in a view's recipients.
json outcome(const json& view, const std::string& user, const std::string& channel) {
  for (const json& r : view["recipients"])
    if (r["user_id"] == user && r["channel"] == channel) return r;
  return nullptr;
}

class CampaignUsersTest : public AppTest {
 protected:
  // Starts, approves and completes a campaign; its view.
  json run(const json& input) {
    const std::string id = start(input);
    client_->wait_for_status(id, "awaiting_approval");
    approve(*client_, id);
    json view = client_->wait_for_status(id, "completed");
    EXPECT_EQ(view["status"], "completed") << view.dump();
    return client_->get("/v1/workflows/" + id).body;
  }
};

TEST_F(CampaignUsersTest, TargetUserIdsAreValidated) {
  std::vector<json> bad = {json::array(), {"ok", "ok"}, {"has space"}, {7},
                           {std::string(129, 'u')}, "u1"};
  json many = json::array();
  for (int i = 0; i < 1001; ++i) many.push_back("u" + std::to_string(i));
  bad.push_back(many);
  for (const json& ids : bad) {
    HttpReply r = client_->post("/v1/campaigns", users_campaign("Bad", {"sms"}, ids));
    EXPECT_EQ(r.status, 422) << ids.dump().substr(0, 80) << " " << r.raw;
    EXPECT_NE(r.raw.find("target_user_ids"), std::string::npos) << r.raw;
  }
}

// The seed's first scenario across campaigns: a cap of 3 a day, five SMS
// campaigns started together, each to both users.
TEST_F(CampaignUsersTest, ADailyCapOfThreeHoldsAcrossFiveCampaigns) {
  for (const char* user : {"ana", "ben"}) put_user(*client_, user, {{"max_messages_per_day", 3}});
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(start(users_campaign("Cap " + std::to_string(i), {"sms"}, {"ana", "ben"})));
  for (const std::string& id : ids) client_->wait_for_status(id, "awaiting_approval");
  for (const std::string& id : ids) approve(*client_, id);
  std::map<std::string, int> sent, skipped;
  int sandbox_sends = 0;
  for (const std::string& id : ids) {
    EXPECT_EQ(client_->wait_for_status(id, "completed")["status"], "completed");
    json view = client_->get("/v1/workflows/" + id).body;
    json progress = client_->get("/v1/workflows/" + id + "/progress").body;
    EXPECT_EQ(view["users_targeted"], 2) << view.dump();
    EXPECT_EQ(progress["users_targeted"], 2);
    EXPECT_EQ(progress["users_sent"], view["users_sent"]);
    EXPECT_EQ(progress["users_skipped"], view["users_skipped"]);
    EXPECT_EQ(view["users_sent"].get<int>() + view["users_skipped"].get<int>(), 2);
    ASSERT_EQ(view["recipients"].size(), 2u);
    for (const json& r : view["recipients"]) {
      EXPECT_EQ(r["channel"], "sms");
      if (r["status"] == "sent") ++sent[r["user_id"]];
      if (r["status"] != "skipped") continue;
      ++skipped[r["user_id"]];
      EXPECT_NE(r["reason"].get<std::string>().find("max_messages_per_day"), std::string::npos)
          << r.dump();
    }
    for (const auto& [user, n] : twilio_sends(app_->sandbox()->ledger_for(id))) {
      EXPECT_EQ(n, 1) << user;
      sandbox_sends += n;
    }
  }
  EXPECT_EQ(sent, (std::map<std::string, int>{{"ana", 3}, {"ben", 3}}));
  EXPECT_EQ(skipped, (std::map<std::string, int>{{"ana", 2}, {"ben", 2}}));
  EXPECT_EQ(sandbox_sends, 6);
  for (const char* user : {"ana", "ben"}) {
    json u = client_->get(std::string("/v1/users/") + user).body;
    EXPECT_EQ(u["total_messages_sent"], 3) << u.dump();
    EXPECT_EQ(u["totals"]["skipped"], 2);
    EXPECT_TRUE(u["pending_reservations"].empty());
  }
}

TEST_F(CampaignUsersTest, AnSmsOptOutSkipsSmsWhilePushStillGoes) {
  ASSERT_EQ(client_->post("/v1/users/cleo/opt-out", {{"channel", "sms"}}).status, 200);
  json view = run(users_campaign("Opt-out", {"sms", "push"}, {"cleo"}));
  EXPECT_EQ(view["users_targeted"], 2);
  EXPECT_EQ(view["users_sent"], 1);
  EXPECT_EQ(view["users_skipped"], 1);
  EXPECT_EQ(outcome(view, "cleo", "sms")["status"], "skipped");
  EXPECT_EQ(outcome(view, "cleo", "sms")["reason"], "opted_out:sms");
  EXPECT_EQ(outcome(view, "cleo", "push")["status"], "sent");
  json ledger = app_->sandbox()->ledger_for(view["workflow_id"]);
  int pushes = 0;
  for (const json& e : ledger["side_effects"]) {
    EXPECT_NE(e["service"], "twilio") << e.dump();
    if (e["service"] == "fcm") {
      ++pushes;
      EXPECT_EQ(e["recipient"], "cleo");
    }
  }
  EXPECT_EQ(pushes, 1);
  EXPECT_EQ(client_->get("/v1/users/cleo").body["total_messages_sent"], 1);
}

TEST_F(CampaignUsersTest, TheGatewaysUnsubscribedAnswerOptsTheUserOut) {
  ASSERT_EQ(sandbox_->post("/sandbox/opt-outs", {{"recipient", "dan"}}).status, 201);
  json view = run(users_campaign("Gateway opt-out", {"sms"}, {"dan", "eve"}));
  EXPECT_EQ(outcome(view, "dan", "sms")["status"], "skipped") << view["recipients"].dump();
  EXPECT_EQ(outcome(view, "dan", "sms")["reason"], "opted out of sms (gateway 21610)");
  EXPECT_EQ(outcome(view, "eve", "sms")["status"], "sent");
  EXPECT_EQ(view["users_sent"], 1);
  EXPECT_EQ(view["users_skipped"], 1);
  json dan = client_->get("/v1/users/dan").body;
  EXPECT_EQ(dan["opted_out_channels"], json({"sms"})) << dan.dump();
  EXPECT_EQ(dan["total_messages_sent"], 0);
  EXPECT_EQ(dan["totals"]["released"], 1);  // the reservation freed its slot
  EXPECT_EQ(twilio_sends(app_->sandbox()->ledger_for(view["workflow_id"])),
            (std::map<std::string, int>{{"eve", 1}}));
  // The next campaign does not try dan's SMS at all: his actor denies it.
  json next = run(users_campaign("After opt-out", {"sms"}, {"dan"}));
  EXPECT_EQ(outcome(next, "dan", "sms")["reason"], "opted_out:sms");
  EXPECT_TRUE(twilio_sends(app_->sandbox()->ledger_for(next["workflow_id"])).empty());
}

// Rejected after distribution (an update after it cannot unsend): the
// compensation keeps what was sent and releases nothing.
TEST_F(CampaignUsersTest, TheCompensationKeepsWhatWasSent) {
  json input = users_campaign("Unwound", {"sms", "email"}, {"fay"});
  ASSERT_EQ(sandbox_->post("/sandbox/faults", {{"path_prefix", "/api/dashboards"}, {"status", 400}})
                .status,
            201);
  const std::string id = start(input);
  client_->wait_for_status(id, "awaiting_approval");
  approve(*client_, id);
  EXPECT_EQ(client_->wait_for_status(id, "failed")["status"], "failed");
  json history = client_->get("/v1/workflows/" + id + "/history?page_size=1000").body;
  json kept;
  for (const json& r : history["data"])
    if (r["type"] == "compensation_completed" && r["data"]["step"] == "distribution.sms")
      kept = r["data"]["output"];
  ASSERT_TRUE(kept.is_object()) << history.dump();
  EXPECT_EQ(kept["kept"], json({"fay"}));
  EXPECT_EQ(kept["released"], 0);
  json fay = client_->get("/v1/users/fay").body;
  EXPECT_EQ(fay["total_messages_sent"], 1);
  EXPECT_EQ(fay["totals"]["released"], 0);
}

// Two of four sends fail with a 503 (no transport retries): the step fails
// as a whole and the engine retries it; the retry sends only to those two,
// and their first reservations were released, not burnt.
TEST(CampaignUsersRetryTest, ATransientGatewayFailureRetriesOnlyTheUnsentUsers) {
  TempDir dir;
  api::AppConfig config = test_config(dir.path);
  config.adapters.services["messaging"].settings["max_retries"] = "0";
  api::OrchestratorApp app(config);
  ASSERT_EQ(app.start(), "");
  ApiClient client(app.base_url());
  ApiClient sandbox_client(app.sandbox()->base_url());
  const json users = {"gil", "hal", "ida", "jon"};
  HttpReply r = client.post("/v1/campaigns", users_campaign("Flaky", {"sms"}, users));
  ASSERT_EQ(r.status, 201) << r.raw;
  const std::string id = r.body["workflow_id"];
  client.wait_for_status(id, "awaiting_approval");
  ASSERT_EQ(sandbox_client
                .post("/sandbox/faults",
                      {{"path_prefix", "/2010-04-01/"}, {"status", 503}, {"count", 2}})
                .status,
            201);
  approve(client, id);
  ASSERT_EQ(client.wait_for_status(id, "completed")["status"], "completed");
  json view = client.get("/v1/workflows/" + id).body;
  EXPECT_EQ(view["users_sent"], 4) << view.dump();
  EXPECT_EQ(view["users_failed"], 0);
  for (const json& phase : view["phases"])
    for (const json& step : phase["steps"])
      if (step["id"] == "distribution.sms") {
        EXPECT_EQ(step["attempts"], 2) << step.dump();
      }
  std::map<std::string, int> once;
  for (const json& u : users) once[u] = 1;
  EXPECT_EQ(twilio_sends(app.sandbox()->ledger_for(id)), once);
  int released = 0;
  for (const json& u : users) {
    json state = client.get("/v1/users/" + u.get<std::string>()).body;
    EXPECT_EQ(state["total_messages_sent"], 1) << state.dump();
    released += state["totals"]["released"].get<int>();
  }
  EXPECT_EQ(released, 2);
}

// The orchestrator stops while three of eight SMS answers are still on the
// way (sent by the sandbox, not yet committed); the next start sends them
// again with the same idempotency keys, and the sandbox applies each once.
TEST(CampaignUsersRestartTest, ARestartMidDistributionSendsNothingTwice) {
  TestSandbox test_sandbox;  // outlives both orchestrators, keeping its ledger
  sandbox::Sandbox& sb = test_sandbox.sandbox();
  TempDir dir;
  api::AppConfig config = test_config(dir.path);
  config.sandbox = false;
  config.adapters = adapters::AdapterConfig::pointing_at(sb.base_url());
  ApiClient sandbox_client(sb.base_url());
  json users = json::array();
  for (int i = 0; i < 8; ++i) users.push_back("user-" + std::to_string(i));

  std::string id;
  {
    api::OrchestratorApp first(config);
    ASSERT_EQ(first.start(), "");
    ApiClient client(first.base_url());
    HttpReply r = client.post("/v1/campaigns", users_campaign("Restart", {"sms"}, users));
    ASSERT_EQ(r.status, 201) << r.raw;
    id = r.body["workflow_id"];
    client.wait_for_status(id, "awaiting_approval");
    ASSERT_EQ(sandbox_client
                  .post("/sandbox/faults", {{"path_prefix", "/2010-04-01/"},
                                            {"status", 0},
                                            {"latency_ms", 3000},
                                            {"count", 3}})
                  .status,
              201);
    approve(client, id);
    auto committed = [&] {
      int n = 0;
      for (const json& u : users)
        n += client.get("/v1/users/" + u.get<std::string>()).body.value("total_messages_sent", 0);
      return n;
    };
    ASSERT_TRUE(eventually([&] { return twilio_sends(sb.ledger_for(id)).size() == 8; },
                           std::chrono::seconds(10)));
    ASSERT_TRUE(eventually([&] { return committed() == 5; }, std::chrono::seconds(10)));
  }  // stops with three answers in flight

  api::OrchestratorApp second(config);
  ASSERT_EQ(second.start(), "");
  ApiClient client(second.base_url());
  json done = client.wait_for_status(id, "completed");
  ASSERT_EQ(done["status"], "completed") << done.dump();
  json view = client.get("/v1/workflows/" + id).body;
  EXPECT_EQ(view["users_sent"], 8) << view.dump();
  const json ledger = sb.ledger_for(id);
  std::map<std::string, int> expected;
  for (const json& u : users) expected[u] = 1;
  EXPECT_EQ(twilio_sends(ledger), expected);
  int replays = 0;
  for (const json& e : ledger["side_effects"])
    if (e["service"] == "twilio") replays += e["replays"].get<int>();
  EXPECT_EQ(replays, 3);  // the three unanswered sends, sent again and deduplicated
  for (const json& u : users) {
    json state = client.get("/v1/users/" + u.get<std::string>()).body;
    EXPECT_EQ(state["total_messages_sent"], 1) << state.dump();
    EXPECT_TRUE(state["pending_reservations"].empty()) << state.dump();
  }
}

}  // namespace
}  // namespace orch::testing
