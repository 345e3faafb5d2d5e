// The config file: service settings take strings, numbers and booleans alike,
// and a value of the wrong type is refused with the key it was under.
#include <gtest/gtest.h>

#include <fstream>

#include "api/server/config.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

std::string load(const TempDir& dir, const std::string& text, api::AppConfig* config) {
  const auto path = dir.path / "config.json";
  std::ofstream(path) << text;
  return api::load_config(path.string(), config);
}

TEST(ConfigFileTest, ServiceSettingsTakeNumbersAndBooleansAsWellAsStrings) {
  TempDir dir;
  api::AppConfig config;
  ASSERT_EQ(load(dir, R"({"services": {"sendgrid": {"settings": {
                 "breaker_min_calls": 4, "breaker_failure_rate": 0.6,
                 "breaker_count_timeouts": false, "breaker_failure_statuses": "500-599,429"}}}})",
                 &config),
            "");
  const auto& s = config.adapters.services["sendgrid"].settings;
  EXPECT_EQ(s.at("breaker_min_calls"), "4");
  EXPECT_EQ(s.at("breaker_failure_rate"), "0.6");
  EXPECT_EQ(s.at("breaker_count_timeouts"), "false");
  EXPECT_EQ(s.at("breaker_failure_statuses"), "500-599,429");
}

TEST(ConfigFileTest, AWrongTypeNamesItsKey) {
  TempDir dir;
  api::AppConfig config;
  EXPECT_EQ(load(dir, R"({"services": {"slack": {"settings": {"breaker_min_calls": [4]}}}})",
                 &config),
            "config file " + (dir.path / "config.json").string() +
                ": 'services.slack.settings.breaker_min_calls' has the wrong type: must be a "
                "string, a number or a boolean, but is array");
  const std::string error = load(dir, R"({"retention_days": "thirty"})", &config);
  EXPECT_NE(error.find("'retention_days' has the wrong type: type must be number, but is string"),
            std::string::npos)
      << error;
}

}  // namespace
}  // namespace orch::testing
