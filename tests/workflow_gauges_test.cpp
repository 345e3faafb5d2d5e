// The gauges an operator watches: unfinished workflows by status and phase
// (workflows_active{status,phase}) and steps parked until their service
// admits calls again (workflow_steps_waiting_for_service{activity}).
#include <gtest/gtest.h>

#include <thread>

#include "observability/metrics.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using namespace std::chrono_literals;

// The value of one Prometheus sample, or -1 when absent.
double sample(const std::string& text, const std::string& series) {
  const std::size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

// Polls the app's metrics until `series` has `value` (bounded); returns the last value.
double await_sample(api::OrchestratorApp& app, const std::string& series, double value) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  double last = -1;
  while (std::chrono::steady_clock::now() < deadline) {
    last = sample(app.metrics().serialize(), series);
    if (last == value) return last;
    std::this_thread::sleep_for(10ms);
  }
  return last;
}

constexpr const char* kWaiting = "workflow_steps_waiting_for_service{activity=\"notion.search\"}";
constexpr const char* kResearchRunning = "workflows_active{phase=\"research\",status=\"running\"}";
constexpr const char* kReviewWaiting =
    "workflows_active{phase=\"review\",status=\"awaiting_approval\"}";

TEST(WorkflowGaugesTest, ActiveByStatusAndPhaseAndStepsWaitingForTheirService) {
  TempDir dir;
  api::OrchestratorApp app(test_config(dir.path));
  ASSERT_EQ(app.start(), "");
  ApiClient client(app.base_url());
  // Declared from the first scrape.
  const std::string first = app.metrics().serialize();
  EXPECT_EQ(sample(first, kWaiting), 0);
  EXPECT_EQ(sample(first, kResearchRunning), 0);
  EXPECT_EQ(sample(first, "workflows_active{phase=\"analytics\",status=\"compensating\"}"), 0);

  ASSERT_EQ(client.post("/v1/adapters/notion/breaker", {{"state", "forced_open"}}).status, 200);
  const std::string id = client.post("/v1/campaigns", sample_campaign("gauged")).body["workflow_id"];
  EXPECT_EQ(await_sample(app, kWaiting, 1), 1);
  EXPECT_EQ(sample(app.metrics().serialize(), kResearchRunning), 1);

  ASSERT_EQ(client.post("/v1/adapters/notion/breaker", {{"state", "closed"}}).status, 200);
  client.wait_for_status(id, "awaiting_approval");
  EXPECT_EQ(await_sample(app, kReviewWaiting, 1), 1);
  const std::string waiting = app.metrics().serialize();
  EXPECT_EQ(sample(waiting, kWaiting), 0);
  EXPECT_EQ(sample(waiting, kResearchRunning), 0);

  ASSERT_EQ(client.post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}}).status,
            202);
  client.wait_for_status(id, "completed");
  EXPECT_EQ(await_sample(app, kReviewWaiting, 0), 0);
  const std::string done = app.metrics().serialize();
  for (const char* phase : {"research", "content", "design", "review", "distribution", "analytics"})
    for (const char* status : {"running", "awaiting_approval", "paused", "compensating"})
      EXPECT_EQ(sample(done, std::string("workflows_active{phase=\"") + phase + "\",status=\"" +
                                 status + "\"}"),
                0)
          << phase << " " << status;
}

}  // namespace
}  // namespace orch::testing
