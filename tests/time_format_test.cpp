// engine/time_format: the one RFC 3339 parser behind schedule_time, used by
// both the CampaignInput validator and the engine. What one accepts the
// other understands: there is no second parser to disagree with.
#include "engine/time/time_format.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "phases/campaign/campaign_input.h"

namespace orch::engine {
namespace {

constexpr TimeMs k2027June1Nine = 1'811'840'400'000;  // 2027-06-01T09:00:00Z

TEST(TimeFormatTest, ParsesUtcOffsetsAndFractions) {
  EXPECT_EQ(parse_time("2027-06-01T09:00:00Z"), k2027June1Nine);
  EXPECT_EQ(parse_time("2027-06-01t09:00:00z"), k2027June1Nine);
  EXPECT_EQ(parse_time("2027-06-01T11:30:00+02:30"), k2027June1Nine);
  EXPECT_EQ(parse_time("2027-05-31T09:01:00-23:59"), k2027June1Nine);
  EXPECT_EQ(parse_time("2027-06-01T09:00:00.250Z"), k2027June1Nine + 250);
  EXPECT_EQ(parse_time("2027-06-01T09:00:00.5Z"), k2027June1Nine + 500);
  EXPECT_EQ(parse_time("2027-06-01T09:00:00.123456789Z"), k2027June1Nine + 123);
  EXPECT_EQ(parse_time("2028-02-29T00:00:00Z").has_value(), true);   // leap year
  EXPECT_EQ(parse_time("2000-02-29T00:00:00Z").has_value(), true);   // 400-year rule
  EXPECT_EQ(parse_time("2027-06-30T23:59:60Z"), parse_time("2027-07-01T00:00:00Z"));
  EXPECT_EQ(format_time(*parse_time("2026-11-22T10:30:45.123Z")), "2026-11-22T10:30:45.123Z");
}

TEST(TimeFormatTest, RefusesWhatItCannotMean) {
  for (const char* bad : {
           "2027-06-01T09:00:00+24:00", "2027-06-01T09:00:00-99:30", "2027-06-01T09:00:00+02:60",
           "2027-06-01T09:00:00+0200",  "2027-06-01T09:00:00+02",    "2027-06-01T09:00:00",
           "2027-02-29T09:00:00Z",      "1900-02-29T09:00:00Z",      "2027-04-31T09:00:00Z",
           "2027-00-10T09:00:00Z",      "2027-06-00T09:00:00Z",      "2027-06-01T24:00:00Z",
           "2027-06-01T09:60:00Z",      "2027-06-01T09:00:61Z",      "2027-06-01T09:00:00.Z",
           "2027-06-01T09:00:00.1234567890Z", "2027-06-01 09:00:00Z", "2027-6-01T09:00:00Z",
           "+2027-06-01T09:00:00Z",     "2027-06-01T09:00:00Zjunk",  "",
           "2027-06-01T09:00:00ZZ",     "2027-06-01T09:0a:00Z",      "tomorrow at nine"}) {
    EXPECT_FALSE(parse_time(bad).has_value()) << bad;
  }
}

// The validator accepts exactly what the engine can schedule.
TEST(TimeFormatTest, TheCampaignValidatorAgreesWithTheEngine) {
  for (const char* text :
       {"2027-06-01T09:00:00Z", "2027-06-01T09:00:00+24:00", "2027-06-01T09:00:00-99:30",
        "2027-06-01T09:00:00+23:59", "2027-02-30T09:00:00Z", "2028-02-29T09:00:00.5-01:00",
        "2027-06-01T09:00:00", "2027-06-01T23:59:60Z"}) {
    nlohmann::json input = phases::sample_campaign_input("Launch", {"alice"});
    input["schedule_time"] = text;
    bool named = false;
    for (const auto& e : phases::validate_campaign_input(input)) named |= e.field == "schedule_time";
    EXPECT_EQ(!named, parse_time(text).has_value()) << text;
  }
}

}  // namespace
}  // namespace orch::engine
