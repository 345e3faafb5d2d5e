// Bounded history: finished workflows past their retention are archived and
// deleted by the retention job; one workflow's journal cannot grow past its
// cap (it unwinds at 90 %, and stalls visibly at 100 %).
#include <gtest/gtest.h>

#include <fstream>

#include "adapters/sandbox/sandbox.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;

class BoundedHistoryTest : public ::testing::Test {
 protected:
  void start_app(api::AppConfig config) {
    app_ = std::make_unique<api::OrchestratorApp>(config, &clock_);
    ASSERT_EQ(app_->start(), "");
    client_ = std::make_unique<ApiClient>(app_->base_url());
  }
  std::string start(const std::string& name, json extra = json::object()) {
    json input = sample_campaign(name);
    input.update(extra);
    HttpReply r = client_->post("/v1/campaigns", input);
    EXPECT_EQ(r.status, 201) << r.raw;
    return r.body.value("workflow_id", "");
  }
  // The status shows a transition as soon as it is decided; its record is
  // durable a moment later. Waits for the workflow_finished record.
  void wait_finished_durable(const std::string& id) {
    for (int i = 0; i < 1000; ++i) {
      const json page = client_->get("/v1/workflows/" + id + "/history?page_size=1000").body;
      if (!page["data"].empty() && page["data"].back()["type"] == "workflow_finished") return;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ADD_FAILURE() << id << ": workflow_finished never became durable";
  }

  std::size_t history_size(const std::string& id) {
    return client_->get("/v1/workflows/" + id + "/history?page_size=1").body["pagination"]
        .value("total_count", 0u);
  }

  engine::ManualClock clock_;
  TempDir dir_;
  std::unique_ptr<api::OrchestratorApp> app_;
  std::unique_ptr<ApiClient> client_;
};

TEST_F(BoundedHistoryTest, RetentionArchivesThenDeletesFinishedWorkflowsOnly) {
  api::AppConfig config = test_config(dir_.path);
  config.archive_dir = dir_.path.string();
  start_app(config);
  const std::string done = start("retention done");
  const std::string rejected = start("retention rejected");
  // Its own approval timeout (90 days) outlasts the clock jumps below.
  const std::string waiting = start("retention waiting", {{"approval_timeout_seconds", 90 * 86400}});
  for (const auto& id : {done, rejected, waiting}) client_->wait_for_status(id, "awaiting_approval");
  client_->post("/v1/workflows/" + done + "/signals/approve", {{"reviewer", "alice"}});
  client_->post("/v1/workflows/" + rejected + "/signals/reject", {{"reviewer", "bob"}, {"reason", "no"}});
  client_->wait_for_status(done, "completed");
  client_->wait_for_status(rejected, "failed");
  wait_finished_durable(done);
  wait_finished_durable(rejected);
  const std::size_t done_records = history_size(done);

  clock_.advance(hours(24 * 29));
  std::string error;
  EXPECT_EQ(app_->run_retention(&error), 0u) << error;
  clock_.advance(hours(24 * 2));
  EXPECT_EQ(app_->run_retention(&error), 2u) << error;
  EXPECT_EQ(client_->get("/v1/workflows/" + done).status, 404);
  EXPECT_EQ(client_->get("/v1/workflows/" + rejected + "/history").status, 404);
  EXPECT_EQ(client_->get("/v1/workflows").body["pagination"]["total_count"], 1);

  // The archive holds both journals, whole.
  std::ifstream archive(dir_.path / "workflows-archive.jsonl");
  std::map<std::string, std::size_t> archived;
  for (std::string line; std::getline(archive, line);) {
    json j = json::parse(line);
    archived[j["workflow_id"]] = j["records"].size();
  }
  EXPECT_EQ(archived.size(), 2u);
  EXPECT_EQ(archived[done], done_records);

  // The unfinished one is untouched and still completes; deletion is durable.
  ASSERT_EQ(client_->post("/v1/workflows/" + waiting + "/signals/approve", {{"reviewer", "alice"}}).status,
            202);
  client_->wait_for_status(waiting, "completed");
  app_->stop();
  start_app(config);
  EXPECT_EQ(client_->get("/v1/workflows/" + done).status, 404);
  EXPECT_EQ(client_->get("/v1/workflows/" + waiting).body["status"], "completed");
}

TEST_F(BoundedHistoryTest, AWorkflowNearItsJournalCapUnwindsAndRefusesMoreSignals) {
  api::AppConfig config = test_config(dir_.path);
  config.max_journal_records = 200;
  start_app(config);
  const std::string id = start("capped");
  client_->wait_for_status(id, "awaiting_approval");
  int accepted = 0, refused = 0;
  for (int i = 0; i < 250 && refused == 0; ++i) {
    HttpReply r = client_->post("/v1/workflows/" + id + "/signals/update_content",
                                {{"content_id", "headline"}, {"new_content", "v" + std::to_string(i)}});
    if (r.status == 202) ++accepted;
    else if (r.status == 409) ++refused;
    else ADD_FAILURE() << r.raw;
  }
  EXPECT_GT(accepted, 100);
  EXPECT_EQ(refused, 1);
  json state = client_->wait_for_status(id, "failed");
  EXPECT_EQ(state["unwind_reason"], "history_limit");
  for (const json& c : state["compensations"]) EXPECT_EQ(c["status"], "completed");
  EXPECT_LE(history_size(id), 200u);
}

TEST_F(BoundedHistoryTest, ACompensationThatNeverSucceedsStallsAtTheCapVisibly) {
  api::AppConfig config = test_config(dir_.path);
  config.max_journal_records = 100;
  start_app(config);
  ApiClient sandbox(app_->sandbox()->base_url());
  const std::string id = start("never undone");
  client_->wait_for_status(id, "awaiting_approval");
  ASSERT_EQ(sandbox.post("/sandbox/faults", {{"path_prefix", "/v1/images/"}, {"method", "DELETE"}, {"status", 400}})
                .status,
            201);
  client_->post("/v1/workflows/" + id + "/signals/reject", {{"reviewer", "bob"}, {"reason", "no"}});
  json state;
  for (int i = 0; i < 400; ++i) {
    clock_.advance(minutes(1));  // each compensation retry is due
    app_->run_on_engine([] {});
    state = client_->get("/v1/workflows/" + id).body;
    if (state.contains("stalled")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(state.contains("stalled")) << state.dump();
  EXPECT_EQ(state["status"], "compensating");
  // The records that stalled it become durable a moment after the state
  // shows it: wait for the journal to hold exactly the cap.
  std::size_t records = history_size(id);
  for (int i = 0; i < 500 && records < 100u; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    records = history_size(id);
  }
  EXPECT_EQ(records, 100u);
  clock_.advance(hours(1));
  app_->run_on_engine([] {});
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(history_size(id), records) << "a stalled workflow must write nothing more";
}

}  // namespace
}  // namespace orch::testing
