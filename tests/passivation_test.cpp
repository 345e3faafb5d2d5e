// Passivation: a campaign that waits for a human leaves memory once idle and
// is read back from the journal by a command or its deadline; a restart
// leaves such campaigns on disk (only their summary rows are read). Nothing
// is lost or done twice on the way.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "adapters/sandbox/sandbox.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr engine::TimeMs kIdleMs = 60'000;

class PassivationTest : public ManualClockAppTest {
 protected:
  api::AppConfig config() {
    api::AppConfig c = test_config(dir_.path);
    c.passivate_after_ms = kIdleMs;
    return c;
  }
  void SetUp() override { start_app(config()); }
  void restart() {
    app_->stop();
    app_.reset();
    start_app(config());
  }

  // (unfinished, in memory) as /ready reports them.
  std::pair<long long, long long> counts() {
    HttpReply r = client_->get("/ready");
    EXPECT_EQ(r.status, 200) << r.raw;
    return {r.body.value("active_workflows", -1LL), r.body.value("resident_workflows", -1LL)};
  }
  // Waits for the last commit first: a workflow whose commit is still in
  // flight when its idle time is up is busy, and is looked at again only a
  // full idle period later.
  void idle_past_passivation() {
    settle();
    clock_.advance(milliseconds(kIdleMs + 1000));
    settle();
  }
  void approve(const std::string& id, const std::string& reviewer = "alice") {
    HttpReply r = client_->post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", reviewer}});
    EXPECT_EQ(r.status, 202) << r.raw;
  }
  // Side effects the sandbox applied for `id`, each exactly once.
  std::size_t applied_once(const std::string& id, const char* kind = "side_effects") {
    const json ledger = app_->sandbox()->ledger_for(id);
    for (const json& e : ledger[kind]) EXPECT_EQ(e.value("replays", -1), 0) << e.dump();
    return ledger[kind].size();
  }
  // The journal's records of `id`: dense seqs, and how many of `type`.
  int records_of(const std::string& id, const std::string& type) {
    HttpReply h = client_->get("/v1/workflows/" + id + "/history?page_size=1000");
    EXPECT_EQ(h.status, 200) << h.raw;
    int n = 0;
    std::uint64_t seq = 0;
    for (const json& r : h.body["data"]) {
      EXPECT_EQ(r["seq"].get<std::uint64_t>(), ++seq);
      n += r["type"] == type;
    }
    return n;
  }

};

TEST_F(PassivationTest, WaitingCampaignLeavesMemoryAndASignalReadsItBack) {
  const std::string id = start(sample_campaign());
  client_->wait_for_status(id, "awaiting_approval");
  EXPECT_EQ(counts(), std::make_pair(1LL, 1LL));
  clock_.advance(milliseconds(kIdleMs / 2));
  settle();
  EXPECT_EQ(counts().second, 1) << "passivated before it was idle long enough";
  idle_past_passivation();
  EXPECT_EQ(counts(), std::make_pair(1LL, 0LL));

  // Queries read the journal and leave it on disk.
  json state = client_->get("/v1/workflows/" + id).body;
  EXPECT_EQ(state["status"], "awaiting_approval");
  EXPECT_EQ(state["current_phase"], "review");
  EXPECT_EQ(client_->get("/v1/workflows/" + id + "/progress").body["status"], "awaiting_approval");
  EXPECT_EQ(client_->get("/v1/workflows/" + id + "/approvals").status, 200);
  EXPECT_EQ(client_->get("/v1/workflows/" + id + "/progress?wait_for=awaiting_approval&wait_ms=5000")
                .body["status"],
            "awaiting_approval");
  EXPECT_EQ(counts(), std::make_pair(1LL, 0LL));

  // A refused decision reads it back, journals nothing.
  HttpReply refused =
      client_->post("/v1/workflows/" + id + "/updates/approve", {{"reviewer", "mallory"}});
  EXPECT_EQ(refused.status, 403) << refused.raw;
  approve(id);
  state = client_->wait_for_status(id, "completed");
  EXPECT_EQ(applied_once(id), 15u);
  EXPECT_EQ(records_of(id, "workflow_started"), 1);
  EXPECT_EQ(records_of(id, "step_completed"), 15);
  EXPECT_EQ(counts(), std::make_pair(0LL, 0LL));
  const std::string metrics = client_->get("/metrics").raw;
  EXPECT_NE(metrics.find("\nworkflow_passivations_total 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nworkflow_read_backs_total 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("\nworkflows_resident 0\n"), std::string::npos);
}

TEST_F(PassivationTest, ApprovalDeadlineWakesACampaignOnDisk) {
  json input = sample_campaign();
  input["approval_timeout_seconds"] = 3600;
  const std::string id = start(input);
  client_->wait_for_status(id, "awaiting_approval");
  idle_past_passivation();
  ASSERT_EQ(counts(), std::make_pair(1LL, 0LL));
  clock_.advance(hours(1));
  json state = client_->wait_for_status(id, "failed");
  EXPECT_EQ(state["unwind_reason"], "approval_timeout");
  EXPECT_EQ(applied_once(id, "compensations"), 4u);
  EXPECT_EQ(records_of(id, "approval_timed_out"), 1);
}

TEST_F(PassivationTest, PausedCampaignLeavesMemoryAndResumes) {
  const std::string id = start(sample_campaign());
  client_->wait_for_status(id, "awaiting_approval");
  ASSERT_EQ(client_->post("/v1/workflows/" + id + "/pause", {{"reason", "legal hold"}}).status, 202);
  idle_past_passivation();
  EXPECT_EQ(counts(), std::make_pair(1LL, 0LL));
  EXPECT_EQ(client_->get("/v1/workflows/" + id).body["status"], "paused");
  ASSERT_EQ(client_->post("/v1/workflows/" + id + "/resume", json::object()).status, 202);
  EXPECT_EQ(client_->get("/v1/workflows/" + id).body["status"], "awaiting_approval");
  approve(id);
  client_->wait_for_status(id, "completed");
  EXPECT_EQ(applied_once(id), 15u);
}

TEST_F(PassivationTest, CancelOfACampaignOnDiskUnwindsIt) {
  const std::string id = start(sample_campaign());
  client_->wait_for_status(id, "awaiting_approval");
  idle_past_passivation();
  ASSERT_EQ(counts().second, 0);
  HttpReply r = client_->post("/v1/workflows/" + id + "/cancel", {{"reason", "budget cut"}});
  ASSERT_EQ(r.status, 202) << r.raw;
  client_->wait_for_status(id, "cancelled");
  EXPECT_EQ(applied_once(id, "compensations"), 4u);
  // Finished: commands are refused as before, not read back.
  EXPECT_EQ(client_->post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}}).status,
            409);
}

TEST_F(PassivationTest, RestartLeavesWaitingCampaignsOnDiskUntilNeeded) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(start(sample_campaign("c" + std::to_string(i))));
  json timed = sample_campaign("timed");
  timed["approval_timeout_seconds"] = 7200;
  const std::string timed_id = start(timed);
  for (const std::string& id : ids) client_->wait_for_status(id, "awaiting_approval");
  client_->wait_for_status(timed_id, "awaiting_approval");
  EXPECT_EQ(counts(), std::make_pair(6LL, 6LL));  // not idle long enough yet

  restart();  // a fresh sandbox too: it sees only what runs after the restart
  EXPECT_EQ(counts(), std::make_pair(6LL, 0LL));
  EXPECT_EQ(client_->get("/v1/workflows?status=awaiting_approval").body["pagination"]["total_count"],
            6);

  clock_.advance(hours(2));  // the deadline journaled before the restart
  json state = client_->wait_for_status(timed_id, "failed");
  EXPECT_EQ(state["unwind_reason"], "approval_timeout");
  EXPECT_EQ(records_of(timed_id, "compensation_completed"), 4);
  EXPECT_EQ(records_of(timed_id, "approval_timed_out"), 1);
  EXPECT_EQ(applied_once(timed_id), 0u);

  for (const std::string& id : ids) approve(id);
  for (const std::string& id : ids) {
    client_->wait_for_status(id, "completed");
    EXPECT_EQ(applied_once(id), 4u) << "only distribution and analytics run after the restart";
    EXPECT_EQ(records_of(id, "step_scheduled"), 15);
  }
  EXPECT_EQ(counts(), std::make_pair(0LL, 0LL));
}

TEST_F(PassivationTest, JournalWithoutWakeUpsIsLoadedAtStartAsBefore) {
  const std::string id = start(sample_campaign());
  client_->wait_for_status(id, "awaiting_approval");
  app_->stop();
  app_.reset();
  {  // a journal written before summaries kept wake_ms
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path / "journal.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "ALTER TABLE workflows DROP COLUMN wake_ms", nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  start_app(config());
  EXPECT_EQ(counts(), std::make_pair(1LL, 1LL));  // wake-up unknown: read at start
  idle_past_passivation();
  EXPECT_EQ(counts(), std::make_pair(1LL, 0LL));  // and written since
  approve(id);
  client_->wait_for_status(id, "completed");
  EXPECT_EQ(applied_once(id), 4u);
}

TEST_F(PassivationTest, NeverWhenDisabled) {
  restart();
  app_->stop();
  app_.reset();
  api::AppConfig c = config();
  c.passivate_after_ms = -1;
  start_app(c);
  const std::string id = start(sample_campaign());
  client_->wait_for_status(id, "awaiting_approval");
  clock_.advance(hours(24));
  settle();
  EXPECT_EQ(counts(), std::make_pair(1LL, 1LL));
  restart();  // back to passivation on: the row's wake-up was kept
  EXPECT_EQ(counts(), std::make_pair(1LL, 0LL));
}

}  // namespace
}  // namespace orch::testing
