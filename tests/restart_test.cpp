// Stop the server while 50 campaigns wait for approval, start a new one on
// the same store, approve them all: all complete, and the sandbox (which kept
// running) saw every forward side effect exactly once.
#include <gtest/gtest.h>

#include <thread>

#include "adapters/sandbox/sandbox.h"
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

}  // namespace
}  // namespace orch::testing
