// Logs: one JSON object per line with the workflow's context, and never a
// secret: a token planted in an adapter's config appears in no line, even
// when that adapter's calls fail and are logged.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "adapters/sandbox/sandbox.h"
#include "observability/log.h"
#include "tests/support/orchestrator_fixture.h"
#include "tests/support/sandbox_fixture.h"

namespace orch::testing {
namespace {

using nlohmann::json;
constexpr const char* kPlanted = "SG.planted-secret-token-7f3a9c";

TEST(StructuredLogsTest, EveryLineIsJsonWithContextAndNoSecret) {
  std::mutex mu;
  std::vector<std::string> lines;
  observability::set_log_sink([&](const std::string& line) {
    std::lock_guard lock(mu);
    lines.push_back(line);
  });

  TestSandbox sb;
  {
    TempDir dir;
    api::AppConfig config = test_config(dir.path);
    config.sandbox = false;
    config.log_level = "debug";
    config.adapters = adapters::AdapterConfig::pointing_at(sb.base_url());
    config.adapters.services["sendgrid"].token = kPlanted;
    api::OrchestratorApp app(config);
    ASSERT_EQ(app.start(), "");
    ApiClient client(app.base_url());
    ApiClient sandbox(sb.base_url());
    // SendGrid fails permanently: its errors are logged, the saga unwinds.
    ASSERT_EQ(sandbox.post("/sandbox/faults", {{"path_prefix", "/v3/mail/send"}, {"status", 401}}).status,
              201);
    const std::string id = client.post("/v1/campaigns", sample_campaign("logged")).body["workflow_id"];
    client.post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}});
    client.wait_for_status(id, "failed");
  }
  observability::set_log_sink(nullptr);
  observability::set_log_level(observability::LogLevel::info);

  ASSERT_GT(lines.size(), 30u);
  int with_activity = 0, failures = 0;
  for (const std::string& line : lines) {
    EXPECT_EQ(line.find(kPlanted), std::string::npos) << "secret in: " << line;
    json j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_TRUE(j.contains("timestamp") && j.contains("level") && j.contains("message")) << line;
    if (!j.contains("workflow_id")) continue;
    EXPECT_FALSE(j.value("trace_id", "").empty()) << line;
    EXPECT_TRUE(j.contains("phase")) << line;
    if (j.contains("activity_name")) {
      ++with_activity;
      EXPECT_TRUE(j.contains("attempt") || j["message"] == "compensation_completed") << line;
    }
    if (j["message"] == "step_failed") {
      ++failures;
      EXPECT_EQ(j["level"], "warn");
      EXPECT_EQ(j["activity_name"], "sendgrid.send");
    }
  }
  EXPECT_GT(with_activity, 20);
  EXPECT_GE(failures, 1);
}

}  // namespace
}  // namespace orch::testing
