// Time-based behaviour under the injectable clock: a 72-hour approval wait,
// escalation to second-line reviewers, schedule_time and retry backoff are
// journaled deadlines that fire once, also across a restart.
#include <gtest/gtest.h>

#include "adapters/sandbox/sandbox.h"
#include "engine/time/time_format.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

class DurableTimersTest : public ManualClockAppTest {
 protected:
  std::string status_of(const std::string& id) {
    return client_->get("/v1/workflows/" + id).body.value("status", "");
  }
};

TEST_F(DurableTimersTest, ApprovalTimeoutRejectsAndUnwindsAfterSeventyTwoHours) {
  const std::string id = start(sample_campaign());
  client_->wait_for_status(id, "awaiting_approval");
  clock_.advance(hours(72) - minutes(1));
  settle();
  EXPECT_EQ(status_of(id), "awaiting_approval");
  clock_.advance(minutes(2));
  json state = client_->wait_for_status(id, "failed");
  EXPECT_EQ(state["unwind_reason"], "approval_timeout");
  EXPECT_EQ(state["compensations"].size(), 4u);
  for (const json& c : state["compensations"]) EXPECT_EQ(c["status"], "completed");
  HttpReply history = client_->get("/v1/workflows/" + id + "/history?page_size=1000");
  int timeouts = 0;
  for (const json& r : history.body["data"]) timeouts += r["type"] == "approval_timed_out";
  EXPECT_EQ(timeouts, 1);
}

TEST_F(DurableTimersTest, PerCampaignTimeoutEscalatesToSecondLineReviewers) {
  json input = sample_campaign();
  input["approval_timeout_seconds"] = 3600;
  input["escalation_reviewers"] = {"carol"};
  const std::string id = start(input);
  client_->wait_for_status(id, "awaiting_approval");
  // carol may not decide before the escalation.
  EXPECT_EQ(client_->post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "carol"}}).status,
            403);
  clock_.advance(hours(1) + minutes(1));
  settle();
  json state = client_->get("/v1/workflows/" + id).body;
  EXPECT_EQ(state["status"], "awaiting_approval");
  EXPECT_TRUE(state.contains("escalated_at"));
  ASSERT_EQ(client_->post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "carol"}}).status,
            202);
  client_->wait_for_status(id, "completed");
}

TEST_F(DurableTimersTest, EscalatedReviewThatStillTimesOutIsRejected) {
  json input = sample_campaign();
  input["approval_timeout_seconds"] = 600;
  input["escalation_reviewers"] = {"carol"};
  const std::string id = start(input);
  client_->wait_for_status(id, "awaiting_approval");
  clock_.advance(minutes(11));
  settle();
  EXPECT_EQ(status_of(id), "awaiting_approval");
  clock_.advance(minutes(11));
  json state = client_->wait_for_status(id, "failed");
  EXPECT_EQ(state["unwind_reason"], "approval_timeout");
}

TEST_F(DurableTimersTest, ScheduleTimeHoldsTheCampaignUntilItsStart) {
  json input = sample_campaign();
  input["schedule_time"] = engine::format_time(clock_.now_ms() + 3'600'000);
  const std::string id = start(input);
  settle();
  std::this_thread::sleep_for(milliseconds(100));
  json state = client_->get("/v1/workflows/" + id).body;
  EXPECT_EQ(state["status"], "running");
  EXPECT_TRUE(state.contains("scheduled_for"));
  EXPECT_TRUE(app_->sandbox()->ledger_for(id)["side_effects"].empty());
  clock_.advance(hours(1));
  client_->wait_for_status(id, "awaiting_approval");
  EXPECT_EQ(app_->sandbox()->ledger_for(id)["side_effects"].size(), 11u);
}

TEST_F(DurableTimersTest, RetryBackoffWaitsForItsJournaledDeadline) {
  app_->stop();
  api::AppConfig config = test_config(dir_.path);
  config.tuning.retry_initial_interval = minutes(10);
  config.tuning.retry_max_interval = minutes(10);
  start_app(config);
  ApiClient sandbox(app_->sandbox()->base_url());
  ASSERT_EQ(sandbox.post("/sandbox/faults", {{"path_prefix", "/v1/search"}, {"status", 503}, {"count", 3}})
                .status,
            201);
  const std::string id = start(sample_campaign());
  // The first attempt fails (three 503s exhaust the transport's retries).
  json state;
  for (int i = 0; i < 500; ++i) {
    state = client_->get("/v1/workflows/" + id).body;
    if (state["phases"][0]["steps"][0]["status"] == "retry_wait") break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(state["phases"][0]["steps"][0]["status"], "retry_wait") << state.dump();
  clock_.advance(minutes(9));
  settle();
  EXPECT_EQ(client_->get("/v1/workflows/" + id).body["phases"][0]["steps"][0]["status"], "retry_wait");
  clock_.advance(minutes(2));
  state = client_->wait_for_status(id, "awaiting_approval");
  EXPECT_EQ(state["phases"][0]["steps"][0]["attempts"], 2);
}

TEST_F(DurableTimersTest, ApprovalDeadlineSurvivesARestart) {
  const std::string id = start(sample_campaign());
  client_->wait_for_status(id, "awaiting_approval");
  app_->stop();
  clock_.advance(hours(73));  // the deadline passes while the server is down
  start_app(test_config(dir_.path));
  EXPECT_EQ(app_->recovered_workflows(), 1u);
  json state = client_->wait_for_status(id, "failed");
  EXPECT_EQ(state["unwind_reason"], "approval_timeout");
}

}  // namespace
}  // namespace orch::testing
