// Stop the server while 50 campaigns wait for approval, start a new one on
// the same store, approve them all: all complete, and the sandbox (which kept
// running) saw every forward side effect exactly once. And a start naming a
// workflow of a store written before the input hash was SHA-256.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <thread>

#include "adapters/sandbox/sandbox.h"
#include "engine/json/json_text.h"
#include "engine/workflow/workflow_engine.h"
#include "tests/support/orchestrator_fixture.h"
#include "tests/support/sandbox_fixture.h"

namespace orch::testing {
namespace {

using nlohmann::json;
constexpr int kCampaigns = 50;

TEST(RestartTest, CampaignsWaitingForApprovalSurviveARestart) {
  TestSandbox test_sandbox;  // outlives both servers, keeping its ledger
  sandbox::Sandbox& sb = test_sandbox.sandbox();

  TempDir dir;
  api::AppConfig config = test_config(dir.path);
  config.sandbox = false;
  config.adapters = adapters::AdapterConfig::pointing_at(sb.base_url());

  std::vector<std::string> ids;
  {
    api::OrchestratorApp first(config);
    ASSERT_EQ(first.start(), "");
    ApiClient client(first.base_url());
    for (int i = 0; i < kCampaigns; ++i) {
      HttpReply r = client.post("/v1/campaigns", sample_campaign("restart " + std::to_string(i)));
      ASSERT_EQ(r.status, 201) << r.raw;
      ids.push_back(r.body["workflow_id"]);
    }
    for (const std::string& id : ids) client.wait_for_status(id, "awaiting_approval");
  }  // the server stops here

  api::OrchestratorApp second(config);
  ASSERT_EQ(second.start(), "");
  EXPECT_EQ(second.recovered_workflows(), static_cast<std::size_t>(kCampaigns));
  ApiClient client(second.base_url());
  HttpReply list = client.get("/v1/workflows?status=awaiting_approval&page_size=100");
  EXPECT_EQ(list.body["pagination"]["total_count"], kCampaigns);
  for (const std::string& id : ids)
    ASSERT_EQ(client.post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}}).status,
              202);
  for (const std::string& id : ids) client.wait_for_status(id, "completed");

  for (const std::string& id : ids) {
    json ledger = sb.ledger_for(id);
    EXPECT_EQ(ledger["side_effects"].size(), 15u) << id;
    for (const json& e : ledger["side_effects"]) EXPECT_EQ(e["replays"], 0) << e.dump();
    EXPECT_TRUE(ledger["compensations"].empty());
  }
  EXPECT_EQ(sb.ledger_summary()["side_effects"], 15 * kCampaigns);
}

// A store written before the input hash was SHA-256 holds FNV-1a's 16 hex
// digits in its summary rows: a start naming such a workflow with the same
// input still answers with it, and with another input is still a conflict.
TEST(RestartTest, InputHashesWrittenBeforeSha256StillMatch) {
  TempDir dir;
  api::AppConfig config = test_config(dir.path);
  json in = sample_campaign("hashed before");
  in["workflow_id"] = "campaign-fnv-row";
  {
    api::OrchestratorApp first(config);
    ASSERT_EQ(first.start(), "");
    ApiClient client(first.base_url());
    ASSERT_EQ(client.post("/v1/campaigns", in).status, 201);
    client.wait_for_status("campaign-fnv-row", "awaiting_approval");
  }

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path / "journal.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* read = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT payload FROM journal WHERE workflow_id = "
                               "'campaign-fnv-row' AND seq = 1",
                               -1, &read, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(read), SQLITE_ROW);
  const json started = json::parse(reinterpret_cast<const char*>(sqlite3_column_text(read, 0)));
  sqlite3_finalize(read);
  EXPECT_EQ(engine::input_hash(started["input"]).size(), 64u);
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a 64, as the engine wrote it
  for (unsigned char c : dump_json(started["input"])) h = (h ^ c) * 1099511628211ULL;
  char fnv[17];
  std::snprintf(fnv, sizeof fnv, "%016llx", static_cast<unsigned long long>(h));
  const std::string sql = std::string("UPDATE workflows SET input_hash = '") + fnv +
                          "' WHERE workflow_id = 'campaign-fnv-row'";
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_changes(db), 1);
  sqlite3_close(db);

  api::OrchestratorApp second(config);
  ASSERT_EQ(second.start(), "");
  ApiClient client(second.base_url());
  HttpReply again = client.post("/v1/campaigns", in);
  EXPECT_EQ(again.status, 200) << again.raw;
  EXPECT_EQ(again.body.value("workflow_id", ""), "campaign-fnv-row");
  json other = in;
  other["campaign_name"] = "a different campaign";
  EXPECT_EQ(client.post("/v1/campaigns", other).status, 409);
}

}  // namespace
}  // namespace orch::testing
