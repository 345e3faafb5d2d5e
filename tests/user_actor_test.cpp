// The user actor under the ManualClock, without HTTP: the seed's five
// scenarios, atomic reservations under contention, releases and expiry, and
// deferral across a daylight-saving change and across midnight in a zone
// with a half-hour offset.
#include <gtest/gtest.h>

#include "engine/time/time_format.h"
#include "phases/user_actor/frequency_rules.h"
#include "phases/user_actor/user_actor.h"
#include "tests/support/entity_harness.h"

namespace orch::testing {
namespace {

using engine::EntityCode;
using nlohmann::json;
using std::chrono::milliseconds;
constexpr engine::TimeMs kHour = 3'600'000;

engine::TimeMs at(const char* rfc3339) { return *engine::parse_time(rfc3339); }

class UserActorTest : public ::testing::Test {
 protected:
  UserActorTest()
      : h_([](engine::EntityEngine& e) { e.add(phases::user_actor::user_actor_definition()); }) {
    h_.clock.advance(milliseconds(at("2026-03-02T09:00:00Z") - h_.clock.now_ms()));  // a Monday
  }

  void configure(const std::string& user, json caps) {
    auto r = h_.call("user", user, "configure", std::move(caps));
    ASSERT_EQ(r.code, EntityCode::ok) << r.detail;
  }
  // Reserves, then commits when granted (a campaign's send); the status.
  std::string send(const std::string& user, const std::string& channel, const std::string& campaign,
                   std::string* reason = nullptr) {
    const std::string message = campaign + ":" + user + ":" + channel;
    auto r = h_.call("user", user, "reserve",
                     {{"campaign_id", campaign}, {"channel", channel}, {"message_id", message}});
    EXPECT_EQ(r.code, EntityCode::ok) << r.detail;
    if (reason) *reason = r.answer.value("reason", "");
    const std::string status = r.answer.value("status", "");
    if (status == "granted") {
      auto c = h_.call("user", user, "commit", {{"reservation_id", r.answer["reservation_id"]}});
      EXPECT_EQ(c.code, EntityCode::ok) << c.detail;
    }
    return status;
  }
  void advance(engine::TimeMs ms) {
    h_.clock.advance(milliseconds(ms));
  }
  json view(const std::string& user) { return h_.query("user", user, "view").answer; }

  EntityHarness h_;
};

// 1. A cap of 3 a day and five campaigns: three sent, two skipped, with the rule.
TEST_F(UserActorTest, ThreeADayOfFiveCampaigns) {
  configure("u1", {{"max_messages_per_day", 3}});
  std::vector<std::string> statuses, reasons;
  for (int c = 0; c < 5; ++c) {
    std::string reason;
    statuses.push_back(send("u1", "email", "camp-" + std::to_string(c), &reason));
    reasons.push_back(reason);
    advance(10 * 60 * 1000);
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"granted", "granted", "granted", "denied", "denied"}));
  EXPECT_EQ(reasons[3], "max_messages_per_day (3)");
  json v = view("u1");
  EXPECT_EQ(v["total_messages_sent"], 3);
  EXPECT_EQ(v["totals"]["skipped"], 2);
  EXPECT_EQ(v["counters"]["today"], 3);
  // A new day in the user's zone frees it.
  advance(15 * kHour);
  EXPECT_EQ(send("u1", "email", "camp-next-day"), "granted");
}

// 2. Five emails a week among ten email campaigns; SMS still goes.
TEST_F(UserActorTest, FiveEmailsAWeekThenSmsStillGoes) {
  configure("u2", {{"max_emails_per_week", 5}});
  int sent = 0;
  for (int c = 0; c < 10; ++c) {
    sent += send("u2", "email", "email-" + std::to_string(c)) == "granted";
    advance(kHour);
  }
  EXPECT_EQ(sent, 5);
  std::string reason;
  EXPECT_EQ(send("u2", "email", "email-more", &reason), "denied");
  EXPECT_EQ(reason, "max_email_per_week (5)");
  EXPECT_EQ(send("u2", "sms", "sms-1"), "granted");
}

// 3. A minimum gap of 2 h: 10:00 sent, 10:30 skipped, 12:01 sent.
TEST_F(UserActorTest, MinimumGapIsRolling) {
  configure("u3", {{"min_hours_between_messages", 2}});
  advance(at("2026-03-02T10:00:00Z") - h_.clock.now_ms());
  EXPECT_EQ(send("u3", "email", "a"), "granted");
  advance(30 * 60 * 1000);
  std::string reason;
  EXPECT_EQ(send("u3", "push", "b", &reason), "denied");
  EXPECT_EQ(reason, "min_hours_between_messages (2)");
  auto e = h_.query("user", "u3", "eligibility", {{"channel", "email"}});
  EXPECT_EQ(e.answer["allowed"], false);
  EXPECT_NEAR(e.answer["hours_since_last_message"].get<double>(), 0.5, 1e-9);
  EXPECT_EQ(e.answer["next_eligible_at"], "2026-03-02T12:00:00.000Z");
  advance(at("2026-03-02T12:01:00Z") - h_.clock.now_ms());
  EXPECT_EQ(send("u3", "email", "c"), "granted");
}

// 4. An SMS opt-out skips SMS and not email.
TEST_F(UserActorTest, OptOutSkipsThatChannelOnly) {
  configure("u4", json::object());
  ASSERT_EQ(h_.call("user", "u4", "opt_out", {{"channel", "sms"}}).code, EntityCode::ok);
  std::string reason;
  EXPECT_EQ(send("u4", "sms", "s", &reason), "denied");
  EXPECT_EQ(reason, "opted_out:sms");
  EXPECT_EQ(send("u4", "email", "e"), "granted");
  EXPECT_EQ(view("u4")["opted_out_channels"], json({"sms"}));
  ASSERT_EQ(h_.call("user", "u4", "opt_in", {{"channel", "sms"}}).code, EntityCode::ok);
  EXPECT_EQ(send("u4", "sms", "s2"), "granted");
}

// 5. Four campaigns at once on the same users stay within every cap.
TEST_F(UserActorTest, FourCampaignsAtOnceStayWithinEveryCap) {
  const std::vector<std::string> users = {"a", "b", "c"};
  for (const auto& u : users)
    configure(u, {{"max_messages_per_day", 2}, {"max_messages_per_week", 3}, {"max_sms_per_week", 1}});
  const std::vector<std::pair<std::string, std::string>> campaigns = {
      {"black-friday", "email"}, {"flash", "sms"}, {"cart", "push"}, {"feature", "in_app"}};
  for (const auto& u : users) {
    std::vector<json> requests;
    for (const auto& [id, channel] : campaigns)
      requests.push_back({{"campaign_id", id}, {"channel", channel}, {"message_id", id + ":" + u}});
    int granted = 0;
    for (const auto& r : h_.call_all("user", u, "reserve", requests)) {
      ASSERT_EQ(r.code, EntityCode::ok) << r.detail;
      granted += r.answer["status"] == "granted";
    }
    EXPECT_EQ(granted, 2) << u;
    EXPECT_EQ(view(u)["pending_reservations"].size(), 2u);
  }
}

// 200 reservations for one user at once with a cap of 3: exactly 3 granted.
TEST_F(UserActorTest, TwoHundredConcurrentReservationsGrantExactlyTheCap) {
  configure("hot", {{"max_messages_per_day", 3}});
  std::vector<json> requests;
  for (int i = 0; i < 200; ++i)
    requests.push_back({{"campaign_id", "c" + std::to_string(i)}, {"channel", "email"},
                        {"message_id", "m" + std::to_string(i)}});
  std::vector<std::string> granted;
  for (const auto& r : h_.call_all("user", "hot", "reserve", requests))
    if (r.answer["status"] == "granted") granted.push_back(r.answer["reservation_id"]);
  ASSERT_EQ(granted.size(), 3u);
  // A failed send releases its slot: the next reservation gets it.
  ASSERT_EQ(h_.call("user", "hot", "release", {{"reservation_id", granted[0]}}).code, EntityCode::ok);
  auto again = h_.call("user", "hot", "reserve",
                       {{"campaign_id", "late"}, {"channel", "email"}, {"message_id", "late"}},
                       "late");
  EXPECT_EQ(again.answer["status"], "granted");
  // A repeat with the same message_id (the REST layer's idempotency key)
  // answers as the first did.
  auto repeat = h_.call("user", "hot", "reserve",
                        {{"campaign_id", "late"}, {"channel", "email"}, {"message_id", "late"}},
                        "late");
  EXPECT_TRUE(repeat.repeat);
  EXPECT_EQ(repeat.answer, again.answer);
  // Committing an unknown or released reservation is refused, changing nothing.
  EXPECT_EQ(h_.call("user", "hot", "commit", {{"reservation_id", granted[0]}}).code,
            EntityCode::not_found);
}

TEST_F(UserActorTest, AnExpiredReservationFreesItsSlot) {
  configure("x", {{"max_messages_per_day", 1}});
  auto r = h_.call("user", "x", "reserve",
                   {{"campaign_id", "c"}, {"channel", "email"}, {"message_id", "m1"}, {"ttl_seconds", 60}});
  ASSERT_EQ(r.answer["status"], "granted");
  EXPECT_EQ(send("x", "email", "other"), "denied");
  advance(61'000);
  EXPECT_EQ(h_.call("user", "x", "commit", {{"reservation_id", r.answer["reservation_id"]}}).code,
            EntityCode::conflict);
  EXPECT_EQ(send("x", "email", "other-again"), "granted");
  // The state, replayed after a restart, is the same.
  const json before = view("x");
  h_.reopen();
  EXPECT_EQ(view("x"), before);
}

// Deferred to the next calendar day in New York, across the spring-forward
// change (2026-03-08 02:00 EST -> 03:00 EDT): midnight of the 9th is 04:00Z,
// not 05:00Z.
TEST_F(UserActorTest, DeferCrossesADaylightSavingChangeInNewYork) {
  configure("ny", {{"max_messages_per_day", 1}, {"timezone", "America/New_York"}});
  advance(at("2026-03-08T20:00:00Z") - h_.clock.now_ms());  // 16:00 EDT on the 8th
  EXPECT_EQ(send("ny", "email", "first"), "granted");
  auto r = h_.call("user", "ny", "reserve",
                   {{"campaign_id", "second"}, {"channel", "email"}, {"message_id", "second"},
                    {"on_capped", "defer"}});
  EXPECT_EQ(r.answer["status"], "deferred");
  EXPECT_EQ(r.answer["next_eligible_at"], "2026-03-09T04:00:00.000Z");
  // And a week cap in the same zone: the week of Monday 2 March ends at
  // Monday 9 March 00:00 EDT, also 04:00Z.
  configure("ny2", {{"max_messages_per_week", 1}, {"timezone", "America/New_York"}});
  EXPECT_EQ(send("ny2", "email", "w1"), "granted");
  auto w = h_.call("user", "ny2", "reserve",
                   {{"campaign_id", "w2"}, {"channel", "email"}, {"message_id", "w2"}, {"on_capped", "defer"}});
  EXPECT_EQ(w.answer["next_eligible_at"], "2026-03-09T04:00:00.000Z");
}

// Kolkata is UTC+05:30: its midnight is 18:30Z the day before.
TEST_F(UserActorTest, DeferCrossesMidnightInKolkata) {
  configure("in", {{"max_messages_per_day", 1}, {"timezone", "Asia/Kolkata"}});
  advance(at("2026-03-02T18:00:00Z") - h_.clock.now_ms());  // 23:30 IST
  EXPECT_EQ(send("in", "sms", "late"), "granted");
  auto r = h_.call("user", "in", "reserve",
                   {{"campaign_id", "next"}, {"channel", "sms"}, {"message_id", "next"}, {"on_capped", "defer"}});
  EXPECT_EQ(r.answer["status"], "deferred");
  EXPECT_EQ(r.answer["next_eligible_at"], "2026-03-02T18:30:00.000Z");
  // A deferred reservation holds its future slot: a third is deferred a day more.
  auto third = h_.call("user", "in", "reserve",
                       {{"campaign_id", "third"}, {"channel", "sms"}, {"message_id", "third"}, {"on_capped", "defer"}});
  EXPECT_EQ(third.answer["next_eligible_at"], "2026-03-03T18:30:00.000Z");
}

TEST_F(UserActorTest, QuietHoursDeferUnlessHighPriority) {
  configure("q", {{"timezone", "Europe/Berlin"}, {"quiet_hours", {{"start", "22:00"}, {"end", "08:00"}}}});
  advance(at("2026-03-02T22:30:00Z") - h_.clock.now_ms());  // 23:30 CET
  auto r = h_.call("user", "q", "reserve",
                   {{"campaign_id", "c"}, {"channel", "push"}, {"message_id", "n1"}, {"on_capped", "defer"}});
  EXPECT_EQ(r.answer["status"], "deferred");
  EXPECT_EQ(r.answer["reason"], "quiet_hours");
  EXPECT_EQ(r.answer["next_eligible_at"], "2026-03-03T07:00:00.000Z");  // 08:00 CET
  auto urgent = h_.call("user", "q", "reserve",
                        {{"campaign_id", "c"}, {"channel", "push"}, {"message_id", "n2"}, {"priority", "high"}});
  EXPECT_EQ(urgent.answer["status"], "granted");
}

TEST(FrequencyRulesTest, ClockTimesAndZones) {
  using phases::user_actor::parse_clock;
  EXPECT_EQ(parse_clock("00:00"), 0);
  EXPECT_EQ(parse_clock("23:59"), 23 * 60 + 59);
  EXPECT_FALSE(parse_clock("24:00"));
  EXPECT_FALSE(parse_clock("7:00"));
  EXPECT_TRUE(phases::user_actor::valid_timezone("America/New_York"));
  EXPECT_FALSE(phases::user_actor::valid_timezone("Mars/Olympus"));
}

}  // namespace
}  // namespace orch::testing
