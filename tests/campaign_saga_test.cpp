// A campaign end to end against the real server and the sandbox: completion
// through approval, rejection, a permanent failure in distribution, engine
// retries, cancel. Compensations are checked in the sandbox's ledger.
#include <gtest/gtest.h>

#include "adapters/sandbox/sandbox.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using nlohmann::json;

class CampaignSagaTest : public AppTest {
 protected:
  void approve(const std::string& id, const std::string& reviewer = "alice") {
    HttpReply r = client_->post("/v1/workflows/" + id + "/signals/approve",
                                {{"reviewer", reviewer}, {"comment", "ok"}});
    EXPECT_EQ(r.status, 202) << r.raw;
    EXPECT_EQ(r.body.value("status", ""), "signal_sent");
  }

  // Step names of the ledger's entries of one kind, in the order applied.
  std::vector<std::string> ledger_steps(const std::string& id, const char* kind) {
    json ledger = app_->sandbox()->ledger_for(id);
    std::vector<std::string> steps;
    for (const json& e : ledger[kind]) {
      EXPECT_EQ(e.value("replays", -1), 0) << "applied more than once: " << e.dump();
      steps.push_back(e["step"].get<std::string>());
    }
    return steps;
  }

  // Checks that compensations ran once each, newest first: exactly the
  // compensable steps in reverse order of their journaled completion (the
  // sandbox may have applied parallel siblings in another order).
  void expect_unwound_newest_first(const std::string& id, std::size_t expected_count) {
    json state = client_->get("/v1/workflows/" + id).body;
    std::set<std::string> compensable;
    for (const json& phase : state["phases"])
      for (const json& step : phase["steps"])
        if (step.contains("compensation")) compensable.insert(step["id"].get<std::string>());
    HttpReply history = client_->get("/v1/workflows/" + id + "/history?page_size=1000");
    ASSERT_EQ(history.status, 200);
    std::vector<std::string> completed;
    for (const json& rec : history.body["data"])
      if (rec["type"] == "step_completed" && compensable.count(rec["data"]["step"]))
        completed.push_back(rec["data"]["step"]);
    const std::vector<std::string> expected(completed.rbegin(), completed.rend());
    EXPECT_EQ(ledger_steps(id, "compensations"), expected);
    EXPECT_EQ(expected.size(), expected_count);
    // The journal agrees: compensations completed in the same order.
    std::vector<std::string> journaled;
    for (const json& rec : history.body["data"])
      if (rec["type"] == "compensation_completed") journaled.push_back(rec["data"]["step"]);
    EXPECT_EQ(journaled, expected);
  }

};

TEST_F(CampaignSagaTest, CompletesThroughApprovalWithOneSideEffectPerStep) {
  const std::string id = start(sample_campaign());
  json state = client_->wait_for_status(id, "awaiting_approval");
  EXPECT_EQ(state["current_phase"], "review");
  EXPECT_TRUE(state.contains("approval_deadline"));
  approve(id);
  state = client_->wait_for_status(id, "completed");
  EXPECT_EQ(state["progress_percentage"], 100);
  for (const json& phase : state["phases"]) EXPECT_EQ(phase["status"], "completed") << phase.dump();
  ASSERT_EQ(state["approvals"].size(), 1u);
  EXPECT_EQ(state["approvals"][0]["reviewer"], "alice");

  const auto effects = ledger_steps(id, "side_effects");
  EXPECT_EQ(effects.size(), 15u);
  EXPECT_EQ(std::set<std::string>(effects.begin(), effects.end()).size(), 15u);
  EXPECT_TRUE(ledger_steps(id, "compensations").empty());
  // drafts, three renders, three channels, the dashboard: registered, none ran.
  EXPECT_EQ(state["compensations"].size(), 8u);
  for (const json& c : state["compensations"]) EXPECT_EQ(c["status"], "pending");

  // Content feeds distribution: the email carries the generated subject.
  bool saw_content = false;
  for (const json& phase : state["phases"])
    for (const json& step : phase["steps"])
      if (step["id"] == "content.generate")
        saw_content = !step["output"]["content_pieces"].value("email_subject", "").empty();
  EXPECT_TRUE(saw_content);

  HttpReply progress = client_->get("/v1/workflows/" + id + "/progress");
  EXPECT_EQ(progress.status, 200);
  EXPECT_EQ(progress.body["progress_percentage"], 100);
  EXPECT_EQ(progress.body["status"], "completed");
}

TEST_F(CampaignSagaTest, RejectionUnwindsCompletedStepsNewestFirst) {
  const std::string id = start(sample_campaign());
  client_->wait_for_status(id, "awaiting_approval");
  HttpReply r = client_->post("/v1/workflows/" + id + "/signals/reject",
                              {{"reviewer", "bob"}, {"reason", "off-brand headline"}});
  ASSERT_EQ(r.status, 202) << r.raw;
  json state = client_->wait_for_status(id, "failed");
  EXPECT_NE(state.value("reason", "").find("off-brand headline"), std::string::npos);
  EXPECT_EQ(state["unwind_reason"], "rejected");
  // content.remember_drafts and three design renders were compensable.
  expect_unwound_newest_first(id, 4);
  for (const json& c : state["compensations"]) {
    EXPECT_EQ(c["status"], "completed");
    EXPECT_EQ(c["attempts"], 1);
  }
  // A signal to a finished workflow is a conflict and changes nothing.
  HttpReply late = client_->post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}});
  EXPECT_EQ(late.status, 409);
}

TEST_F(CampaignSagaTest, PermanentDistributionFailureCompensatesSiblingsToo) {
  json input = sample_campaign();
  input["workflow_id"] = "campaign-permanent-failure";
  inject({{"path_prefix", "/v3/mail/send"},
          {"status", 400},
          {"workflow_ids", {"campaign-permanent-failure"}}});
  const std::string id = start(input);
  client_->wait_for_status(id, "awaiting_approval");
  approve(id);
  json state = client_->wait_for_status(id, "failed");
  EXPECT_NE(state.value("reason", "").find("distribution.email"), std::string::npos)
      << state.value("reason", "");
  EXPECT_EQ(state["unwind_reason"], "step_failed");
  // remember_drafts + 3 renders + the siblings social and blog that completed.
  expect_unwound_newest_first(id, 6);
  const auto effects = ledger_steps(id, "side_effects");
  EXPECT_EQ(std::count(effects.begin(), effects.end(), "distribution.email"), 0);
  EXPECT_EQ(std::count(effects.begin(), effects.end(), "analytics.dashboard"), 0);
}

// A service's own error answer (the sandbox's fault with "error"): Slack's
// ok:false with HTTP 200, SendGrid's 400 errors[] and GitHub's 422 message
// fail the step at once, and GET /v1/workflows/{id} shows the service's
// reason in the step's last_error and in the workflow's reason.
TEST_F(CampaignSagaTest, ServiceErrorBodiesReachTheStepsLastError) {
  struct Case {
    std::string id;
    json fault;
    std::string step;
    std::string expected;
    bool approve;  // the step runs after the review gate
  };
  const std::vector<Case> cases = {
      {"campaign-slack-error",
       {{"path_prefix", "/api/chat.postMessage"}, {"status", 200}, {"error", "channel_not_found"}},
       "review.notify",
       "slack: channel_not_found",
       false},
      {"campaign-github-error",
       {{"path_prefix", "/repos/"},
        {"method", "POST"},
        {"status", 422},
        {"error", "Validation Failed"}},
       "review.pull_request",
       "github: Validation Failed",
       false},
      {"campaign-sendgrid-error",
       {{"path_prefix", "/v3/mail/send"},
        {"status", 400},
        {"error", "The from object must be provided for every email send."}},
       "distribution.email",
       "sendgrid: The from object must be provided for every email send.",
       true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.id);
    json fault = c.fault;
    fault["workflow_ids"] = {c.id};
    inject(fault);
    json input = sample_campaign();
    input["workflow_id"] = c.id;
    const std::string id = start(input);
    if (c.approve) {
      client_->wait_for_status(id, "awaiting_approval");
      approve(id);
    }
    json state = client_->wait_for_status(id, "failed");
    EXPECT_NE(state.value("reason", "").find(c.expected), std::string::npos)
        << state.value("reason", "");
    bool seen = false;
    for (const json& phase : state["phases"])
      for (const json& step : phase["steps"])
        if (step["id"] == c.step) {
          seen = true;
          EXPECT_EQ(step["status"], "failed") << step.dump();
          EXPECT_EQ(step["attempts"], 1) << step.dump();  // permanent: never retried
          const std::string last_error = step.value("last_error", "");
          EXPECT_NE(last_error.find(c.expected), std::string::npos) << last_error;
          // The sandbox's placeholder tokens are "sandbox-<service>-token".
          EXPECT_EQ(last_error.find("-token"), std::string::npos) << last_error;
        }
    EXPECT_TRUE(seen) << state.dump();
    const auto effects = ledger_steps(id, "side_effects");
    EXPECT_EQ(std::count(effects.begin(), effects.end(), c.step), 0);
  }
}

TEST_F(CampaignSagaTest, TransientFailuresAreRetriedByTheEngineWithTheSameKey) {
  json input = sample_campaign();
  input["workflow_id"] = "campaign-transient";
  // Three 503s exhaust the transport's own retries (1 + 2), so the engine's
  // second attempt is the one that succeeds.
  inject({{"path_prefix", "/v1/search"}, {"status", 503}, {"count", 3}});
  const std::string id = start(input);
  client_->wait_for_status(id, "awaiting_approval");
  approve(id);
  json state = client_->wait_for_status(id, "completed");
  for (const json& step : state["phases"][0]["steps"])
    if (step["id"] == "research.notion_search") {
      EXPECT_EQ(step["attempts"], 2);
    }
  EXPECT_EQ(ledger_steps(id, "side_effects").size(), 15u);
  HttpReply history = client_->get("/v1/workflows/" + id + "/history?page_size=1000");
  ASSERT_EQ(history.status, 200);
  int failures = 0;
  for (const json& rec : history.body["data"]) failures += rec["type"] == "step_failed";
  EXPECT_EQ(failures, 1);
}

TEST_F(CampaignSagaTest, NonRetryableStatusesAreNotRetriedByTheEngine) {
  app_->stop();
  api::AppConfig config = test_config(dir_.path);
  config.tuning.non_retryable_statuses = {503};
  app_ = std::make_unique<api::OrchestratorApp>(config);
  ASSERT_EQ(app_->start(), "");
  client_ = std::make_unique<ApiClient>(app_->base_url());
  sandbox_ = std::make_unique<ApiClient>(app_->sandbox()->base_url());
  // Three 503s exhaust the transport's retries; the engine must not retry.
  inject({{"path_prefix", "/v1/search"}, {"status", 503}, {"count", 3}});
  const std::string id = start(sample_campaign());
  json state = client_->wait_for_status(id, "failed");
  EXPECT_EQ(state["phases"][0]["steps"][0]["attempts"], 1);
  EXPECT_NE(state.value("reason", "").find("research.notion_search"), std::string::npos);
}

TEST_F(CampaignSagaTest, CancelWhileAwaitingApprovalCompensates) {
  const std::string id = start(sample_campaign());
  client_->wait_for_status(id, "awaiting_approval");
  HttpReply r = client_->post("/v1/workflows/" + id + "/cancel", {{"reason", "budget cut"}});
  ASSERT_EQ(r.status, 202) << r.raw;
  json state = client_->wait_for_status(id, "cancelled");
  EXPECT_NE(state.value("reason", "").find("budget cut"), std::string::npos);
  expect_unwound_newest_first(id, 4);
  EXPECT_EQ(client_->post("/v1/workflows/" + id + "/cancel", json::object()).status, 409);
}

TEST_F(CampaignSagaTest, UpdateContentBeforeDistributionIsPublished) {
  const std::string id = start(sample_campaign());
  client_->wait_for_status(id, "awaiting_approval");
  HttpReply r = client_->post("/v1/workflows/" + id + "/signals/update_content",
                              {{"content_id", "email_subject"}, {"new_content", "Edited subject"}});
  ASSERT_EQ(r.status, 202) << r.raw;
  EXPECT_EQ(r.body["status"], "content_updated");
  approve(id);
  json state = client_->wait_for_status(id, "completed");
  EXPECT_EQ(state["patches"]["update_content"]["email_subject"], "Edited subject");
  // The edit reached the email that was sent (SendGrid's Email Activity in
  // the sandbox), not only the workflow's state.
  std::string message_id;
  for (const json& phase : state["phases"])
    for (const json& step : phase["steps"])
      if (step["id"] == "distribution.email") message_id = step["output"].value("message_id", "");
  ASSERT_FALSE(message_id.empty()) << state.dump();
  HttpReply sent = sandbox_->call("GET", "/v3/messages/" + message_id, "",
                                  {{"Authorization", "Bearer test-token"}});
  ASSERT_EQ(sent.status, 200) << sent.raw;
  EXPECT_EQ(sent.body["subject"], "Edited subject");
  EXPECT_EQ(client_
                ->post("/v1/workflows/" + id + "/signals/update_content",
                       {{"content_id", "email_subject"}, {"new_content", "too late"}})
                .status,
            409);
}

TEST_F(CampaignSagaTest, RepeatedSignalWithTheSameIdempotencyKeyIsAppliedOnce) {
  const std::string id = start(sample_campaign());
  client_->wait_for_status(id, "awaiting_approval");
  const http::Headers key = {{"Idempotency-Key", "approve-once"}};
  const json body = {{"reviewer", "alice"}, {"comment", "first"}};
  // The update_content signal keeps the workflow in review so both arrive
  // while it still accepts signals.
  for (int i = 0; i < 3; ++i) {
    HttpReply r = client_->post("/v1/workflows/" + id + "/signals/update_content",
                                {{"content_id", "headline"}, {"new_content", "New headline"}},
                                {{"Idempotency-Key", "edit-once"}});
    ASSERT_EQ(r.status, 202) << r.raw;
  }
  for (int i = 0; i < 3; ++i) {
    HttpReply r = client_->post("/v1/workflows/" + id + "/signals/approve", body, key);
    // The first is accepted; repeats are acknowledged again while the
    // workflow runs, or refused with 409 once it has finished.
    ASSERT_TRUE(r.status == 202 || (i > 0 && r.status == 409)) << r.raw;
  }
  json state = client_->wait_for_status(id, "completed");
  EXPECT_EQ(state["approvals"].size(), 1u);
  HttpReply history = client_->get("/v1/workflows/" + id + "/history?page_size=1000");
  int signals = 0;
  for (const json& rec : history.body["data"]) signals += rec["type"] == "signal_received";
  EXPECT_EQ(signals, 2);  // one update_content, one approve
}

// An Idempotency-Key stands for one request. Reused for another signal, body
// or reviewer it is refused (409), not acknowledged and silently dropped:
// max's approval under mia's key would otherwise never count, and a quorum
// of two would never be met.
TEST_F(CampaignSagaTest, AnIdempotencyKeyIsBoundToTheRequestItFirstCarried) {
  json input = sample_campaign();
  input["reviewers"] = {"mia", "max"};
  input["approval_policy"] = {
      {"levels", {{{"name", "marketing"}, {"reviewers", {"mia", "max"}}, {"quorum", 2}}}}};
  const std::string id = start(input);
  client_->wait_for_status(id, "awaiting_approval");
  const std::string approve = "/v1/workflows/" + id + "/signals/approve";
  const std::string reject = "/v1/workflows/" + id + "/signals/reject";
  const http::Headers key = {{"Idempotency-Key", "decision-1"}};
  const json mia = {{"reviewer", "mia"}, {"comment", "good"}};

  ASSERT_EQ(client_->post(approve, mia, key).status, 202);
  HttpReply reused = client_->post(approve, {{"reviewer", "max"}, {"comment", "good"}}, key);
  EXPECT_EQ(reused.status, 409) << reused.raw;
  EXPECT_EQ(reused.body.value("type", ""), "https://campaign-orchestrator.dev/problems/idempotency-key-reused") << reused.raw;
  EXPECT_EQ(client_->post(approve, {{"reviewer", "mia"}, {"comment", "other"}}, key).status, 409);
  EXPECT_EQ(client_->post(reject, {{"reviewer", "mia"}, {"reason", "no"}}, key).status, 409);
  EXPECT_EQ(client_->post(approve, mia, key).status, 202);  // a true repeat
  json approvals = client_->get("/v1/workflows/" + id + "/approvals").body;
  EXPECT_EQ(approvals["levels"][0]["approved_by"], json({"mia"})) << approvals.dump();

  ASSERT_EQ(client_->post(approve, {{"reviewer", "max"}}, {{"Idempotency-Key", "decision-2"}}).status,
            202);
  client_->wait_for_status(id, "completed");
  // Finished: the repeat still answers as the first did; another use does not.
  EXPECT_EQ(client_->post(approve, mia, key).status, 202);
  EXPECT_EQ(client_->post(reject, {{"reviewer", "mia"}, {"reason", "no"}}, key).status, 409);
  HttpReply history = client_->get("/v1/workflows/" + id + "/history?page_size=1000");
  int signals = 0;
  for (const json& rec : history.body["data"]) signals += rec["type"] == "signal_received";
  EXPECT_EQ(signals, 2);
}

}  // namespace
}  // namespace orch::testing
