// Campaigns ride out an outage: an open breaker parks steps (no attempt used,
// nothing journaled, no calls sent), operators see and steer breakers, a
// step past its schedule-to-close fails and unwinds, `on_exhausted: pause`
// keeps the workflow's place until POST /retry, and 1,000 campaigns survive a
// SendGrid outage with zero failures and zero duplicate sends.
#include <gtest/gtest.h>

#include "adapters/sandbox/sandbox.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

json adapter(ApiClient& client, const std::string& service) {
  const HttpReply reply = client.get("/v1/adapters");  // keep it alive for the loop
  for (const json& a : reply.body["data"])
    if (a["service"] == service) return a;
  return nullptr;
}

std::string step_status(const json& state, const std::string& step_id) {
  for (const json& phase : state["phases"])
    for (const json& step : phase["steps"])
      if (step["id"] == step_id) return step["status"];
  return "";
}

TEST(OutageTest, OperatorsSeeAndSteerBreakersAndOpenMeansWait) {
  TempDir dir;
  api::OrchestratorApp app(test_config(dir.path));
  ASSERT_EQ(app.start(), "");
  ApiClient client(app.base_url());
  HttpReply list = client.get("/v1/adapters");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body["data"].size(), 13u);
  EXPECT_EQ(adapter(client, "sendgrid")["breaker"]["state"], "closed");

  EXPECT_EQ(client.post("/v1/adapters/sendgrid/breaker", {{"state", "sideways"}}).status, 422);
  EXPECT_EQ(client.post("/v1/adapters/nope/breaker", {{"state", "closed"}}).status, 404);
  EXPECT_EQ(client.post("/v1/adapters/sendgrid/breaker", {{"state", "forced_open"}}).status, 200);
  EXPECT_NE(client.get("/metrics").raw.find("circuit_breaker_state{service=\"sendgrid\"} 1"),
            std::string::npos);

  json input = sample_campaign("forced open");
  HttpReply started = client.post("/v1/campaigns", input);
  const std::string id = started.body["workflow_id"];
  client.post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}});
  json state;
  for (int i = 0; i < 500; ++i) {
    state = client.get("/v1/workflows/" + id).body;
    if (step_status(state, "distribution.email") == "waiting_for_service" &&
        step_status(state, "distribution.blog") == "completed")
      break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(step_status(state, "distribution.email"), "waiting_for_service") << state.dump();
  EXPECT_EQ(state["status"], "running");
  std::this_thread::sleep_for(milliseconds(300));  // parked steps knock again: still refused
  json ledger = app.sandbox()->ledger_for(id);
  for (const json& e : ledger["side_effects"]) EXPECT_NE(e["service"], "sendgrid") << e.dump();
  for (const json& phase : state["phases"])
    for (const json& step : phase["steps"])
      if (step["id"] == "distribution.email") {
        EXPECT_EQ(step["attempts"], 1) << "waiting must not use attempts";
      }
  EXPECT_GT(adapter(client, "sendgrid")["rejected_calls"].get<int>(), 0);

  ASSERT_EQ(client.post("/v1/adapters/sendgrid/breaker", {{"state", "closed"}}).status, 200);
  client.wait_for_status(id, "completed");
  EXPECT_EQ(app.sandbox()->ledger_for(id)["side_effects"].size(), 15u);
}

TEST(OutageTest, CancelWhileAStepWaitsForItsServiceAbandonsItUnsent) {
  TempDir dir;
  api::OrchestratorApp app(test_config(dir.path));
  ASSERT_EQ(app.start(), "");
  ApiClient client(app.base_url());
  ASSERT_EQ(client.post("/v1/adapters/sendgrid/breaker", {{"state", "forced_open"}}).status, 200);
  const std::string id = client.post("/v1/campaigns", sample_campaign("cancel parked")).body["workflow_id"];
  client.post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}});
  json state;
  for (int i = 0; i < 500; ++i) {
    state = client.get("/v1/workflows/" + id).body;
    if (step_status(state, "distribution.email") == "waiting_for_service" &&
        step_status(state, "distribution.blog") == "completed" &&
        step_status(state, "distribution.social") == "completed")
      break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(client.post("/v1/workflows/" + id + "/cancel", {{"reason", "stop"}}).status, 202);
  state = client.wait_for_status(id, "cancelled", std::chrono::seconds(10));
  EXPECT_EQ(step_status(state, "distribution.email"), "failed");
  const json ledger = app.sandbox()->ledger_for(id);
  for (const json& e : ledger["side_effects"]) EXPECT_NE(e["step"], "distribution.email");
  EXPECT_EQ(ledger["compensations"].size(), 6u);  // drafts, 3 renders, social, blog
}

TEST(OutageTest, AStepPastItsScheduleToCloseFailsAndUnwinds) {
  engine::ManualClock clock;
  TempDir dir;
  api::AppConfig config = test_config(dir.path);
  config.tuning.schedule_to_close = std::chrono::minutes(30);
  api::OrchestratorApp app(config, &clock);
  ASSERT_EQ(app.start(), "");
  ApiClient client(app.base_url());
  ASSERT_EQ(client.post("/v1/adapters/grafana/breaker", {{"state", "forced_open"}}).status, 200);
  const std::string id = client.post("/v1/campaigns", sample_campaign("never analysed")).body["workflow_id"];
  client.post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}});
  for (int i = 0; i < 500; ++i) {
    if (step_status(client.get("/v1/workflows/" + id).body, "analytics.dashboard") ==
        "waiting_for_service")
      break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  clock.advance(std::chrono::minutes(31));
  json state = client.wait_for_status(id, "failed");
  EXPECT_NE(state.value("reason", "").find("schedule-to-close"), std::string::npos) << state["reason"];
  EXPECT_EQ(state["compensations"].size(), 7u);  // drafts, 3 renders, 3 channels
}

TEST(OutageTest, OnExhaustedPauseKeepsItsPlaceUntilRedriven) {
  TempDir dir;
  api::AppConfig config = test_config(dir.path);
  config.tuning.pause_on_exhausted = {"distribution."};
  api::OrchestratorApp app(config);
  ASSERT_EQ(app.start(), "");
  ApiClient client(app.base_url());
  ApiClient sandbox(app.sandbox()->base_url());
  HttpReply fault = sandbox.post("/sandbox/faults", {{"path_prefix", "/v3/mail/send"}, {"status", 400}});
  ASSERT_EQ(fault.status, 201);
  const std::string id = client.post("/v1/campaigns", sample_campaign("paused")).body["workflow_id"];
  EXPECT_EQ(client.post("/v1/workflows/" + id + "/retry", json::object()).status, 409);
  client.post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}});
  json state = client.wait_for_status(id, "paused");
  EXPECT_EQ(state["paused_step"], "distribution.email");
  EXPECT_NE(state.value("pause_reason", "").find("distribution.email"), std::string::npos);
  EXPECT_TRUE(app.sandbox()->ledger_for(id)["compensations"].empty());
  EXPECT_EQ(client.get("/v1/workflows?status=paused").body["pagination"]["total_count"], 1);

  // The operator fixes the cause, then redrives with fresh attempts.
  ASSERT_EQ(sandbox.call("DELETE", "/sandbox/faults").status, 200);
  HttpReply retry = client.post("/v1/workflows/" + id + "/retry", {{"reason", "template fixed"}});
  ASSERT_EQ(retry.status, 202) << retry.raw;
  state = client.wait_for_status(id, "completed");
  EXPECT_EQ(app.sandbox()->ledger_for(id)["side_effects"].size(), 15u);
}

// `kCampaigns` campaigns ride out a SendGrid outage that lasts `hold` after
// every one of them waits on SendGrid, under these breaker settings: none
// fails, each sends its email once, and while the breaker is open SendGrid
// sees only the calls that tripped it and the half-open probes.
void ride_out_a_sendgrid_outage(int kCampaigns, milliseconds hold,
                                const std::map<std::string, std::string>& breaker) {
  TempDir dir;
  api::AppConfig config = test_config(dir.path);
  config.tuning.retry_initial_interval = milliseconds(200);
  config.tuning.retry_max_interval = milliseconds(1000);
  for (const auto& [key, value] : breaker) config.adapters.services["sendgrid"].settings[key] = value;
  api::OrchestratorApp app(config);
  ASSERT_EQ(app.start(), "");
  ApiClient client(app.base_url());
  ApiClient sandbox(app.sandbox()->base_url());
  ASSERT_EQ(sandbox.post("/sandbox/faults", {{"path_prefix", "/v3/mail/send"}, {"status", 503}}).status,
            201);
  std::vector<std::string> ids;
  for (int i = 0; i < kCampaigns; ++i) {
    HttpReply r = client.post("/v1/campaigns", sample_campaign("outage " + std::to_string(i)));
    ASSERT_EQ(r.status, 201);
    ids.push_back(r.body["workflow_id"]);
    // Approvals given early are held until each campaign reaches review.
    ASSERT_EQ(client.post("/v1/workflows/" + ids.back() + "/signals/approve", {{"reviewer", "alice"}})
                  .status,
              202);
  }
  // The outage lasts until every campaign waits on SendGrid or is past it.
  for (int i = 0; i < 3000; ++i) {
    auto waiting = client.get("/v1/workflows?phase=distribution&page_size=1").body["pagination"]["total_count"];
    auto done = client.get("/v1/workflows?status=completed&page_size=1").body["pagination"]["total_count"];
    if (waiting.get<int>() + done.get<int>() >= kCampaigns) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  std::this_thread::sleep_for(hold);  // open/half-open cycles
  const json during = adapter(client, "sendgrid");
  EXPECT_NE(during["breaker"]["state"], "closed");
  const json ledger_during = app.sandbox()->ledger_summary();
  ASSERT_EQ(sandbox.call("DELETE", "/sandbox/faults").status, 200);
  const auto recovered = std::chrono::steady_clock::now();

  for (const std::string& id : ids) client.wait_for_status(id, "completed", std::chrono::seconds(120));
  const double drain_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - recovered).count();
  EXPECT_EQ(client.get("/v1/workflows?status=failed").body["pagination"]["total_count"], 0);
  for (const std::string& id : ids) {
    int emails = 0;
    const json ledger = app.sandbox()->ledger_for(id);  // alive for the loop
    for (const json& e : ledger["side_effects"]) emails += e["step"] == "distribution.email";
    ASSERT_EQ(emails, 1) << id;
  }
  // While the breaker was open, SendGrid saw only the calls that tripped it
  // (at most a bulkhead's worth in flight) and the half-open probes.
  const int trips = during["breaker"]["trips"].get<int>();
  std::printf("outage: %d campaigns completed, breaker trips %d, SendGrid calls failed during the "
              "outage %d, calls refused without sending %d, drained %.2f s after recovery\n",
              kCampaigns, trips, ledger_during["faults_injected"].get<int>(),
              during["rejected_calls"].get<int>(), drain_seconds);
  EXPECT_GE(trips, 1);
  EXPECT_LE(ledger_during["faults_injected"].get<int>(), 64 + 10 + 5 * trips)
      << "trips " << trips;
}


TEST(OutageTest, ThousandCampaignsRideOutASendGridOutage) {
  ride_out_a_sendgrid_outage(1000, milliseconds(1500), {{"breaker_wait_ms", "500"}});
}

// The same with a breaker quick to trip and to probe again, through some 30
// half-open rounds, and no transport retries (as when the retry budget is
// spent, so each probe is one call): failures just before a trip and failed
// half-open probes are the outage's, so no step spends its attempts on them.
// Before, a step whose earlier attempt failed lost its last one to a failing
// probe, and its campaign failed and compensated.
TEST(OutageTest, AQuickBreakerFailsNoCampaignDuringAnOutage) {
  ride_out_a_sendgrid_outage(
      200, milliseconds(3000),
      {{"breaker_min_calls", "4"}, {"breaker_wait_ms", "100"}, {"max_retries", "0"}});
}

// Three campaigns in a real outage (every email send answers 503), the
// breaker at 4 minimum calls and a 3 s wait: as the README promises, they
// wait for SendGrid, and all complete once it is back. (Before, one failed
// and compensated 3.3 s in: its first attempt came before the trip and its
// second was a failing half-open probe.)
TEST(OutageTest, AFewCampaignsWaitOutAnOutageInsteadOfFailing) {
  TempDir dir;
  api::AppConfig config = test_config(dir.path);
  config.adapters.services["sendgrid"].settings["breaker_min_calls"] = "4";
  config.adapters.services["sendgrid"].settings["breaker_wait_ms"] = "3000";
  api::OrchestratorApp app(config);
  ASSERT_EQ(app.start(), "");
  ApiClient client(app.base_url());
  ApiClient sandbox(app.sandbox()->base_url());
  ASSERT_EQ(sandbox.post("/sandbox/faults", {{"path_prefix", "/v3/mail/send"}, {"status", 503}}).status,
            201);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(client.post("/v1/campaigns", sample_campaign("few " + std::to_string(i)))
                      .body["workflow_id"]);
    client.post("/v1/workflows/" + ids.back() + "/signals/approve", {{"reviewer", "alice"}});
  }
  // Every email step has waited on SendGrid at least once; then the outage
  // goes on for a few seconds more, past a breaker wait.
  for (const std::string& id : ids) {
    json state = client.get("/v1/workflows/" + id).body;
    for (int i = 0; i < 1000 && step_status(state, "distribution.email") != "waiting_for_service";
         ++i) {
      std::this_thread::sleep_for(milliseconds(10));
      state = client.get("/v1/workflows/" + id).body;
    }
    ASSERT_EQ(step_status(state, "distribution.email"), "waiting_for_service") << state.dump();
  }
  std::this_thread::sleep_for(milliseconds(4000));
  for (const std::string& id : ids)
    EXPECT_EQ(client.get("/v1/workflows/" + id).body["status"], "running") << id;
  ASSERT_EQ(sandbox.call("DELETE", "/sandbox/faults").status, 200);
  for (const std::string& id : ids) {
    json state = client.wait_for_status(id, "completed");
    EXPECT_EQ(state["status"], "completed") << state.dump();
    EXPECT_EQ(app.sandbox()->ledger_for(id)["side_effects"].size(), 15u);
  }
}

}  // namespace
}  // namespace orch::testing
