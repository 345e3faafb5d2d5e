// Approval chains against the real server and sandbox: ordered levels with a
// quorum, the no-self-approval rule, the extra level for large audiences, a
// content edit resetting approvals, updates whose validators refuse without
// journaling anything (the store's files stay byte-for-byte the same), a
// rejection at level 2 unwinding everything, the audit trail, pause/resume
// before distribution, and cancel in every phase.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "adapters/sandbox/sandbox.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using nlohmann::json;

json two_level_policy() {
  return {{"levels",
           {{{"name", "marketing"}, {"reviewers", {"mia", "max", "moe"}}, {"quorum", 2}},
            {{"name", "legal"}, {"reviewers", {"lea"}}, {"quorum", 1}}}},
          {"forbid_self_approval", true},
          {"large_audience",
           {{"threshold", 100000},
            {"level", {{"name", "executive"}, {"reviewers", {"eve"}}, {"quorum", 1}}}}}};
}

json chain_campaign(const std::string& name = "Chain Campaign") {
  json input = sample_campaign(name);
  input["approval_policy"] = two_level_policy();
  input["submitted_by"] = "moe";
  input["audience_size"] = 5000;
  return input;
}

class ApprovalChainTest : public AppTest {
 protected:
  HttpReply update(const std::string& id, const std::string& name, const json& body) {
    return client_->post("/v1/workflows/" + id + "/updates/" + name, body);
  }

  HttpReply approve(const std::string& id, const std::string& reviewer,
                    const std::string& comment = "looks good") {
    return update(id, "approve", {{"reviewer", reviewer}, {"comment", comment}});
  }

  // The store's bytes: database, WAL and the history as served.
  std::string snapshot(const std::string& id) {
    return read_file(dir_.path / "journal.db") + "|" + read_file(dir_.path / "journal.db-wal") +
           "|" + client_->get("/v1/workflows/" + id + "/history?page_size=1000").raw;
  }
};

TEST_F(ApprovalChainTest, TwoLevelsWithQuorumTwoAtTheFirst) {
  const std::string id = start(chain_campaign());
  client_->wait_for_status(id, "awaiting_approval");

  HttpReply r = approve(id, "mia");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["status"], "awaiting_approval");
  EXPECT_EQ(r.body["current_level"], "marketing");
  EXPECT_EQ(r.body["levels"][0]["approved_by"], json({"mia"}));
  EXPECT_EQ(r.body["levels"][0]["status"], "pending");

  // A level-2 reviewer may not approve at level 1.
  r = approve(id, "lea");
  EXPECT_EQ(r.status, 403) << r.raw;
  EXPECT_NE(r.body.value("detail", "").find("level 'legal'"), std::string::npos) << r.raw;
  // Nor may someone on no level, nor the same reviewer twice.
  EXPECT_EQ(approve(id, "mallory").status, 403);
  EXPECT_EQ(approve(id, "mia").status, 409);

  r = approve(id, "max", "ship it");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["status"], "awaiting_approval");
  EXPECT_EQ(r.body["current_level"], "legal");
  EXPECT_EQ(r.body["levels"][0]["status"], "approved");

  // Level 1 reviewers cannot decide level 2.
  EXPECT_EQ(approve(id, "mia").status, 403);
  r = approve(id, "lea", "legal ok");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["approved"], true);
  json state = client_->wait_for_status(id, "completed");

  // The audit trail: who, when, what, at which level, with the comments.
  r = client_->get("/v1/workflows/" + id + "/approvals");
  ASSERT_EQ(r.status, 200) << r.raw;
  std::vector<std::string> trail;
  for (const json& e : r.body["audit"])
    trail.push_back(e["action"].get<std::string>() + ":" + e["actor"].get<std::string>() + ":" +
                    e.value("level", ""));
  EXPECT_EQ(trail, (std::vector<std::string>{"submitted:moe:", "approved:mia:marketing",
                                             "approved:max:marketing", "approved:lea:legal"}));
  EXPECT_EQ(r.body["audit"][2]["comment"], "ship it");
  EXPECT_FALSE(r.body["audit"][1]["at"].get<std::string>().empty());
  // Also in the history, and kept after the workflow finished.
  std::size_t signals = 0;
  const json history = client_->get("/v1/workflows/" + id + "/history?page_size=1000").body;
  for (const json& rec : history["data"])
    if (rec["type"] == "signal_received") ++signals;
  EXPECT_EQ(signals, 3u);
  EXPECT_EQ(state["approvals"].size(), 3u);
}

TEST_F(ApprovalChainTest, SubmitterMayNotApproveTheirOwnCampaign) {
  const std::string id = start(chain_campaign());
  client_->wait_for_status(id, "awaiting_approval");
  HttpReply r = approve(id, "moe");  // moe is a marketing reviewer and the submitter
  EXPECT_EQ(r.status, 403) << r.raw;
  EXPECT_NE(r.body.value("detail", "").find("submitted"), std::string::npos) << r.raw;
  // The same rule holds for the asynchronous signal.
  r = client_->post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "moe"}});
  EXPECT_EQ(r.status, 403) << r.raw;
  // Without the rule, a submitter may approve.
  json input = chain_campaign("Self Approved");
  input["approval_policy"].erase("forbid_self_approval");
  const std::string other = start(input);
  client_->wait_for_status(other, "awaiting_approval");
  EXPECT_EQ(approve(other, "moe").status, 200);
}

TEST_F(ApprovalChainTest, LargeAudienceNeedsTheExtraLevel) {
  json input = chain_campaign("Big Audience");
  input["audience_size"] = 250000;
  const std::string id = start(input);
  client_->wait_for_status(id, "awaiting_approval");
  ASSERT_EQ(approve(id, "mia").status, 200);
  ASSERT_EQ(approve(id, "max").status, 200);
  HttpReply r = approve(id, "lea");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["levels"].size(), 3u);
  EXPECT_EQ(r.body["current_level"], "executive");
  EXPECT_EQ(r.body["status"], "awaiting_approval");
  ASSERT_EQ(approve(id, "eve").status, 200);
  client_->wait_for_status(id, "completed");
}

TEST_F(ApprovalChainTest, ContentEditDuringReviewResetsApprovals) {
  const std::string id = start(chain_campaign());
  client_->wait_for_status(id, "awaiting_approval");
  ASSERT_EQ(approve(id, "mia").status, 200);
  ASSERT_EQ(approve(id, "max").status, 200);

  HttpReply r = update(id, "update_content",
                       {{"content_id", "email_subject"}, {"new_content", "Edited subject"}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["round"], 2);
  EXPECT_EQ(r.body["current_level"], "marketing");
  EXPECT_TRUE(r.body["levels"][0]["approved_by"].empty()) << r.raw;
  EXPECT_EQ(r.body["patches"]["update_content"]["email_subject"], "Edited subject");

  // The approvals of round 1 no longer count; mia may approve again.
  ASSERT_EQ(approve(id, "mia").status, 200);
  r = approve(id, "lea");
  EXPECT_EQ(r.status, 403) << r.raw;  // marketing is not yet satisfied
  ASSERT_EQ(approve(id, "max").status, 200);
  ASSERT_EQ(approve(id, "lea").status, 200);
  client_->wait_for_status(id, "completed");
  r = client_->get("/v1/workflows/" + id + "/approvals");
  int round2 = 0;
  bool edit_logged = false;
  for (const json& e : r.body["audit"]) {
    if (e["action"] == "approved" && e["round"] == 2) ++round2;
    if (e["action"] == "content_updated") edit_logged = e["content_id"] == "email_subject";
  }
  EXPECT_EQ(round2, 3);
  EXPECT_TRUE(edit_logged);
  // Distribution ran after the edit.
  bool sent_edit = false;
  const json ledger = app_->sandbox()->ledger_for(id);
  for (const json& e : ledger["side_effects"])
    if (e["step"] == "distribution.email") sent_edit = true;
  EXPECT_TRUE(sent_edit);
}

TEST_F(ApprovalChainTest, RefusedUpdatesLeaveTheJournalByteForByteUnchanged) {
  const std::string id = start(chain_campaign());
  client_->wait_for_status(id, "awaiting_approval");
  ASSERT_EQ(approve(id, "mia").status, 200);
  const std::string before = snapshot(id);

  struct Case {
    const char* name;
    json body;
    int status;
  };
  const std::vector<Case> cases = {
      {"approve", {{"reviewer", "mia"}}, 409},            // already approved this level
      {"approve", {{"reviewer", "lea"}}, 403},            // level 2 at level 1
      {"approve", {{"reviewer", "mallory"}}, 403},        // on no level
      {"approve", {{"reviewer", "moe"}}, 403},            // the submitter
      {"approve", {{"reviewer", 7}}, 422},                // wrong type
      {"approve", json::object(), 422},                   // reviewer missing
      {"reject", {{"reviewer", "mia"}}, 422},             // reason missing
      {"reject", {{"reviewer", "lea"}, {"reason", "no"}}, 403},
      {"update_content", {{"content_id", "nope"}, {"new_content", "x"}}, 422},
      {"update_content", {{"content_id", "email_subject"}}, 422},
  };
  for (const Case& c : cases) {
    HttpReply r = update(id, c.name, c.body);
    EXPECT_EQ(r.status, c.status) << c.name << " " << c.body.dump() << " -> " << r.raw;
    EXPECT_EQ(r.body.value("status", 0), c.status) << "problem+json carries the status";
  }
  // A body that is not JSON at all.
  EXPECT_EQ(client_->call("POST", "/v1/workflows/" + id + "/updates/approve", "{nope",
                          {{"Content-Type", "application/json"}})
                .status,
            422);
  EXPECT_EQ(before, snapshot(id));

  // After the workflow finished, updates are refused (409) and change nothing.
  ASSERT_EQ(approve(id, "max").status, 200);
  ASSERT_EQ(approve(id, "lea").status, 200);
  client_->wait_for_status(id, "completed");
  const std::string done = snapshot(id);
  EXPECT_EQ(approve(id, "moe").status, 409);
  EXPECT_EQ(update(id, "update_content", {{"content_id", "email_subject"}, {"new_content", "late"}})
                .status,
            409);
  EXPECT_EQ(done, snapshot(id));
  // Queries still answer on the finished workflow.
  EXPECT_EQ(client_->get("/v1/workflows/" + id + "/approvals").status, 200);
}

TEST_F(ApprovalChainTest, RejectionAtLevelTwoUnwindsEverything) {
  const std::string id = start(chain_campaign());
  client_->wait_for_status(id, "awaiting_approval");
  ASSERT_EQ(approve(id, "mia").status, 200);
  ASSERT_EQ(approve(id, "max").status, 200);
  HttpReply r = update(id, "reject", {{"reviewer", "lea"}, {"reason", "claims need a source"}});
  ASSERT_EQ(r.status, 200) << r.raw;
  json state = client_->wait_for_status(id, "failed");
  EXPECT_EQ(state["unwind_reason"], "rejected");
  // Drafts and three renders were completed; each undone once, newest first.
  json ledger = app_->sandbox()->ledger_for(id);
  ASSERT_EQ(ledger["compensations"].size(), 4u) << ledger.dump();
  EXPECT_EQ(ledger["compensations"][3]["step"], "content.remember_drafts");
  for (const json& e : ledger["compensations"]) EXPECT_EQ(e["replays"], 0);
  for (const json& e : ledger["side_effects"])
    EXPECT_NE(e["step"].get<std::string>().rfind("distribution.", 0), 0u) << e.dump();
  r = client_->get("/v1/workflows/" + id + "/approvals");
  const json& last = r.body["audit"].back();
  EXPECT_EQ(last["action"], "rejected");
  EXPECT_EQ(last["level"], "legal");
  EXPECT_EQ(last["reason"], "claims need a source");
}

TEST_F(ApprovalChainTest, InvalidPoliciesAreRefused) {
  json input = chain_campaign();
  input["approval_policy"]["levels"][0]["quorum"] = 4;  // more than its reviewers
  HttpReply r = client_->post("/v1/campaigns", input);
  EXPECT_EQ(r.status, 422) << r.raw;
  input = chain_campaign();
  input["approval_policy"]["levels"][1]["name"] = "marketing";
  EXPECT_EQ(client_->post("/v1/campaigns", input).status, 422);
  input = chain_campaign();
  input["approval_policy"]["levels"] = json::array();
  EXPECT_EQ(client_->post("/v1/campaigns", input).status, 422);
  input = chain_campaign();
  input["audience_size"] = -1;
  EXPECT_EQ(client_->post("/v1/campaigns", input).status, 422);
  EXPECT_EQ(client_->get("/v1/workflows").body["pagination"]["total_count"], 0);
}

TEST_F(ApprovalChainTest, PauseAndResumeBeforeDistribution) {
  // Slow research so the pause lands while it runs.
  inject({{"path_prefix", "/v1/search"}, {"status", 0}, {"latency_ms", 300}});
  const std::string id = start(sample_campaign("Paused"));
  HttpReply r = client_->post("/v1/workflows/" + id + "/pause", {{"reason", "legal hold"}});
  ASSERT_EQ(r.status, 202) << r.raw;
  json state = client_->wait_for_status(id, "paused");
  EXPECT_EQ(state["pause_reason"], "legal hold");
  // The step in flight finishes; nothing after it starts.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  state = client_->get("/v1/workflows/" + id).body;
  EXPECT_EQ(state["status"], "paused");
  EXPECT_EQ(state["phases"][0]["status"], "completed") << state["phases"][0].dump();
  EXPECT_EQ(state["phases"][1]["status"], "pending") << state["phases"][1].dump();
  EXPECT_EQ(client_->post("/v1/workflows/" + id + "/pause", json::object()).status, 409);

  ASSERT_EQ(client_->post("/v1/workflows/" + id + "/resume", json::object()).status, 202);
  client_->wait_for_status(id, "awaiting_approval");
  EXPECT_EQ(client_->post("/v1/workflows/" + id + "/resume", json::object()).status, 409);
  ASSERT_EQ(approve(id, "alice").status, 200);
  client_->wait_for_status(id, "completed");
  // Too late once distribution has started.
  EXPECT_EQ(client_->post("/v1/workflows/" + id + "/pause", json::object()).status, 409);
  std::vector<std::string> trail;
  const json approvals = client_->get("/v1/workflows/" + id + "/approvals").body;
  for (const json& e : approvals["audit"]) trail.push_back(e["action"]);
  EXPECT_EQ(trail, (std::vector<std::string>{"submitted", "paused", "resumed", "approved"}));
}

TEST_F(ApprovalChainTest, PauseAfterDistributionStartedIsRefused) {
  inject({{"path_prefix", "/v3/mail/send"}, {"status", 0}, {"latency_ms", 500}});
  const std::string id = start(sample_campaign("Too Late"));
  client_->wait_for_status(id, "awaiting_approval");
  ASSERT_EQ(approve(id, "alice").status, 200);
  HttpReply r = client_->post("/v1/workflows/" + id + "/pause", json::object());
  EXPECT_EQ(r.status, 409) << r.raw;
  client_->wait_for_status(id, "completed");
}

// Cancel while each phase has a step in flight (the sandbox holds its answer).
struct PhaseCase {
  const char* phase;
  const char* path_prefix;
};

class CancelInPhaseTest : public ApprovalChainTest,
                          public ::testing::WithParamInterface<PhaseCase> {};

TEST_P(CancelInPhaseTest, CompensatesWhatCompletedAndStartsNothingAfter) {
  const PhaseCase pc = GetParam();
  inject({{"path_prefix", pc.path_prefix}, {"status", 0}, {"latency_ms", 400}});
  const std::string id = start(sample_campaign(std::string("Cancel in ") + pc.phase));
  const std::string phase = pc.phase;
  if (phase == "distribution" || phase == "analytics") {
    client_->wait_for_status(id, "awaiting_approval");
    ASSERT_EQ(approve(id, "alice").status, 200);
  }
  // Wait until a step of the phase runs.
  bool running = false;
  for (int i = 0; i < 400 && !running; ++i) {
    json s = client_->get("/v1/workflows/" + id).body;
    for (const json& p : s["phases"])
      if (p["name"] == phase)
        for (const json& step : p["steps"]) running |= step["status"] == "running";
    if (!running) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(running) << "no step of " << phase << " ran";
  HttpReply r = client_->post("/v1/workflows/" + id + "/cancel", {{"reason", "stop"}});
  ASSERT_EQ(r.status, 202) << r.raw;
  json state = client_->wait_for_status(id, "cancelled");
  ASSERT_EQ(state["status"], "cancelled") << state.dump();

  // Every completed compensable step was undone exactly once; nothing of a
  // later phase ran; nothing ran twice.
  std::set<std::string> completed_compensable;
  bool later = false, past = false;
  for (const json& p : state["phases"]) {
    if (past)
      for (const json& step : p["steps"]) later |= step["status"] != "pending";
    if (p["name"] == phase) past = true;
    for (const json& step : p["steps"])
      if (step.contains("compensation") && step["status"] == "completed")
        completed_compensable.insert(step["id"]);
  }
  EXPECT_FALSE(later) << state.dump();
  json ledger = app_->sandbox()->ledger_for(id);
  std::set<std::string> compensated;
  for (const json& e : ledger["compensations"]) {
    EXPECT_EQ(e["replays"], 0);
    EXPECT_TRUE(compensated.insert(e["step"]).second) << "twice: " << e.dump();
  }
  EXPECT_EQ(compensated, completed_compensable);
  for (const json& e : ledger["side_effects"]) EXPECT_EQ(e["replays"], 0) << e.dump();
  for (const json& c : state["compensations"]) EXPECT_EQ(c["status"], "completed") << c.dump();
}

INSTANTIATE_TEST_SUITE_P(
    EveryPhase, CancelInPhaseTest,
    ::testing::Values(PhaseCase{"research", "/v1/search"},
                      PhaseCase{"content", "/v1/chat/completions"},
                      PhaseCase{"design", "/v1/images"}, PhaseCase{"review", "/repos"},
                      PhaseCase{"distribution", "/v3/mail/send"},
                      PhaseCase{"analytics", "/api/dashboards/db"}),
    [](const ::testing::TestParamInfo<PhaseCase>& info) { return std::string(info.param.phase); });

}  // namespace
}  // namespace orch::testing
