// schedule_time is validated by the same reading the engine schedules by
// (engine::parse_time): a value the validation let through and the engine
// could not read made the campaign start at once, silently. Found by
// tests/fuzz/campaign_input_fuzzer.
#include <string>

#include <gtest/gtest.h>

#include "engine/time_format.h"
#include "phases/campaign_input.h"

namespace orch::testing {
namespace {

bool schedule_time_valid(const std::string& value) {
  auto input = phases::sample_campaign_input("Scheduled", {"alice"});
  input["schedule_time"] = value;
  for (const auto& e : phases::validate_campaign_input(input))
    if (e.field == "schedule_time") return false;
  return true;
}

TEST(CampaignScheduleTimeTest, ValidationAcceptsExactlyWhatTheEngineSchedules) {
  for (const char* bad : {"2027-06-01T09:00:00+24:00", "2027-06-01T09:00:00-99:00",
                          "2027-06-01T09:00:00+23:60", "2027-06-01T24:00:00Z",
                          "2027-06-01 09:00:00Z", "tomorrow"}) {
    EXPECT_FALSE(schedule_time_valid(bad)) << bad;
    EXPECT_FALSE(engine::parse_time(bad).has_value()) << bad;
  }
  for (const char* good : {"2027-06-01T09:00:00Z", "2027-06-01t09:00:00z",
                           "2027-06-01T09:00:00.250+23:59", "2027-06-01T09:00:00-05:30"}) {
    EXPECT_TRUE(schedule_time_valid(good)) << good;
    EXPECT_TRUE(engine::parse_time(good).has_value()) << good;
  }
}

}  // namespace
}  // namespace orch::testing
