// Event triggers as a whole: their checks, patches, windows, re-eligibility
// and the rule read from a stored trigger (phases/triggers/trigger_rule.h).
#include "phases/triggers/trigger_rule.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/time/time_format.h"

namespace {

using nlohmann::json;
using orch::phases::FieldError;
using orch::phases::sample_campaign_input;
using namespace orch::phases::triggers;

json big_spender() {
  return json::parse(R"({
    "name": "big spender credit", "event_type": "purchase",
    "conditions": {"all": [{"field": "data.amount", "op": ">", "value": 50}]},
    "re_eligibility": "every",
    "action": {"type": "reward", "amount": 10, "currency": "USD"}})");
}

json with(json body, const std::string& key, json value) {
  body[key] = std::move(value);
  return body;
}

json message_action() {
  return {{"type", "message"},
          {"channel", "sms"},
          {"template", "Hi {first_name|there}, thanks for shopping at {location}!"},
          {"name", "Thanks"}};
}

json campaign_action() {
  return {{"type", "campaign"}, {"input", sample_campaign_input("Welcome back", {"alice"})}};
}

std::vector<std::string> fields(const std::vector<FieldError>& errors) {
  std::vector<std::string> names;
  for (const FieldError& e : errors) names.push_back(e.field);
  return names;
}

std::vector<std::string> create_errors(const json& body) {
  return fields(check_trigger(body, TriggerCheck::create));
}

std::vector<std::string> patch_errors(const json& body) {
  return fields(check_trigger(body, TriggerCheck::patch));
}

// The one error a trigger with `key` set to `value` has, "field: message".
std::string error(const std::string& key, json value) {
  const auto errors =
      check_trigger(with(big_spender(), key, std::move(value)), TriggerCheck::create);
  EXPECT_EQ(errors.size(), 1u) << key;
  return errors.empty() ? "" : errors[0].field + ": " + errors[0].message;
}

std::string action_error(json action) { return error("action", std::move(action)); }

using Fields = std::vector<std::string>;

// --- valid triggers ---

TEST(TriggerCheck, AcceptsEachActionType) {
  EXPECT_EQ(create_errors(big_spender()), Fields{});
  EXPECT_EQ(create_errors(with(big_spender(), "action", message_action())), Fields{});
  EXPECT_EQ(create_errors(with(big_spender(), "action", campaign_action())), Fields{});
}

TEST(TriggerCheck, AcceptsEveryOptionalField) {
  json t = big_spender();
  t["description"] = "Credit for a purchase over 50";
  t["active"] = false;
  t["window"] = {{"starts_at", "2026-01-01T00:00:00Z"}, {"ends_at", "2026-02-01T00:00:00+03:00"}};
  t["re_eligibility"] = {{"once_per_hours", 24}};
  EXPECT_EQ(create_errors(t), Fields{});
  t.erase("conditions");
  t.erase("re_eligibility");
  EXPECT_EQ(create_errors(t), Fields{});
}

// --- each field's errors ---

TEST(TriggerCheck, RequiresNameEventTypeAndAction) {
  EXPECT_EQ(create_errors(json::object()), (Fields{"name", "event_type", "action"}));
  EXPECT_EQ(create_errors(json::array()), Fields{""});
  EXPECT_EQ(create_errors(with(big_spender(), "name", nullptr)), Fields{"name"});
}

TEST(TriggerCheck, RefusesIdVersionAndUnknownFields) {
  EXPECT_EQ(error("id", "trg-1"), "id: is set by the store, not by a request");
  EXPECT_EQ(create_errors(with(big_spender(), "version", 3)), Fields{"version"});
  EXPECT_EQ(error("priority", 1), "priority: is not a trigger field");
}

TEST(TriggerCheck, Name) {
  EXPECT_EQ(error("name", ""), "name: must be a string of 1 to 200 bytes, not blank");
  EXPECT_EQ(create_errors(with(big_spender(), "name", "   ")), Fields{"name"});
  EXPECT_EQ(create_errors(with(big_spender(), "name", std::string(201, 'n'))), Fields{"name"});
  EXPECT_EQ(create_errors(with(big_spender(), "name", 5)), Fields{"name"});
  EXPECT_EQ(create_errors(with(big_spender(), "name", std::string(200, 'n'))), Fields{});
}

TEST(TriggerCheck, Description) {
  EXPECT_EQ(error("description", std::string(2001, 'd')),
            "description: must be a string of at most 2,000 bytes");
  EXPECT_EQ(create_errors(with(big_spender(), "description", 5)), Fields{"description"});
  EXPECT_EQ(create_errors(with(big_spender(), "description", nullptr)), Fields{"description"});
  EXPECT_EQ(create_errors(with(big_spender(), "description", "")), Fields{});
  EXPECT_EQ(create_errors(with(big_spender(), "description", std::string(2000, 'd'))), Fields{});
}

TEST(TriggerCheck, EventType) {
  const std::string message = "event_type: must be 1 to 128 of A-Z a-z 0-9 . _ : / -";
  EXPECT_EQ(error("event_type", ""), message);
  EXPECT_EQ(error("event_type", std::string(129, 'e')), message);
  EXPECT_EQ(error("event_type", "purchase completed"), message);
  EXPECT_EQ(error("event_type", "purchase*"), message);
  EXPECT_EQ(error("event_type", 1), message);
  EXPECT_EQ(create_errors(with(big_spender(), "event_type", "com.shop/purchase:v1-new_x")),
            Fields{});
  EXPECT_EQ(create_errors(with(big_spender(), "event_type", std::string(128, 'e'))), Fields{});
}

TEST(TriggerCheck, ConditionsAreCheckedInPlace) {
  EXPECT_EQ(create_errors(with(big_spender(), "conditions",
                               {{"all", {{{"field", "data..x"}, {"op", "~="}, {"value", 1}}}}})),
            (Fields{"conditions.all[0].field", "conditions.all[0].op"}));
  EXPECT_EQ(create_errors(with(big_spender(), "conditions", nullptr)), Fields{"conditions"});
  EXPECT_EQ(create_errors(with(big_spender(), "conditions", {{"all", json::array()}})),
            Fields{"conditions.all"});
}

TEST(TriggerCheck, Active) {
  EXPECT_EQ(error("active", "yes"), "active: must be a boolean");
  EXPECT_EQ(create_errors(with(big_spender(), "active", true)), Fields{});
}

TEST(TriggerCheck, Window) {
  const std::string bad_time =
      "must be an RFC 3339 date-time after 1970, e.g. 2026-12-01T09:00:00Z";
  EXPECT_EQ(error("window", "2026-01-01T00:00:00Z"),
            R"(window: must be {"starts_at": <time>, "ends_at": <time>})");
  EXPECT_EQ(error("window", {{"starts_at", "tomorrow"}}), "window.starts_at: " + bad_time);
  EXPECT_EQ(error("window", {{"ends_at", "2026-02-30T00:00:00Z"}}), "window.ends_at: " + bad_time);
  EXPECT_EQ(error("window", {{"ends_at", 1767225600000}}), "window.ends_at: " + bad_time);
  EXPECT_EQ(error("window", {{"starts_at", "1970-01-01T00:00:00Z"}}),
            "window.starts_at: " + bad_time);
  EXPECT_EQ(error("window", {{"starts_at", nullptr}}), "window.starts_at: " + bad_time);
  EXPECT_EQ(error("window", {{"start", "2026-01-01T00:00:00Z"}}),
            "window.start: is not a window field (starts_at, ends_at)");
  EXPECT_EQ(
      error("window", {{"starts_at", "2026-02-01T00:00:00Z"}, {"ends_at", "2026-01-01T00:00:00Z"}}),
      "window.ends_at: must be after starts_at");
  EXPECT_EQ(error("window", {{"starts_at", "2026-01-01T03:00:00+03:00"},
                             {"ends_at", "2026-01-01T00:00:00Z"}}),
            "window.ends_at: must be after starts_at");  // the same instant
  EXPECT_EQ(create_errors(with(big_spender(), "window", json::object())), Fields{});
  EXPECT_EQ(create_errors(with(big_spender(), "window", {{"ends_at", "2026-01-01T00:00:00Z"}})),
            Fields{});
}

TEST(TriggerCheck, ReEligibility) {
  const std::string shape = R"(re_eligibility: must be "once", "every" or {"once_per_hours": N})";
  const std::string hours =
      "re_eligibility.once_per_hours: must be a number of hours in (0, 87600]";
  EXPECT_EQ(error("re_eligibility", "twice"), shape);
  EXPECT_EQ(error("re_eligibility", 24), shape);
  EXPECT_EQ(error("re_eligibility", {{"once_per_days", 1}}), shape);
  EXPECT_EQ(error("re_eligibility", {{"once_per_hours", 1}, {"x", 1}}), shape);
  EXPECT_EQ(error("re_eligibility", {{"once_per_hours", 0}}), hours);
  EXPECT_EQ(error("re_eligibility", {{"once_per_hours", -1}}), hours);
  EXPECT_EQ(error("re_eligibility", {{"once_per_hours", 87600.5}}), hours);
  EXPECT_EQ(error("re_eligibility", {{"once_per_hours", "24"}}), hours);
  for (const json& ok : {json("once"), json("every"), json({{"once_per_hours", 87600}}),
                         json({{"once_per_hours", 0.5}})})
    EXPECT_EQ(create_errors(with(big_spender(), "re_eligibility", ok)), Fields{}) << ok.dump();
}

TEST(TriggerCheck, ActionShape) {
  EXPECT_EQ(action_error("reward"), "action: must be an object with a type");
  EXPECT_EQ(action_error({{"amount", 10}}), "action.type: is required");
  EXPECT_EQ(action_error({{"type", "coupon"}}),
            "action.type: must be one of reward, message, campaign");
}

TEST(TriggerCheck, RewardAction) {
  const json reward = {{"type", "reward"}, {"amount", 10}, {"currency", "USD"}};
  const std::string amount =
      "action.amount: must be a number in (0, 1000000] with at most 2 decimals";
  for (const json& bad :
       {json(0), json(-1), json(1000000.01), json(10.001), json("10"), json(true)})
    EXPECT_EQ(action_error(with(reward, "amount", bad)), amount) << bad.dump();
  for (const json& good : {json(0.01), json(10.25), json(1000000), json(19.99), json(0.3)})
    EXPECT_EQ(create_errors(with(big_spender(), "action", with(reward, "amount", good))), Fields{})
        << good.dump();
  for (const char* bad : {"usd", "US", "USDT", "U$D"})
    EXPECT_EQ(action_error(with(reward, "currency", bad)),
              "action.currency: must be 3 upper-case letters, e.g. USD");
  EXPECT_EQ(create_errors(with(big_spender(), "action", {{"type", "reward"}})),
            (Fields{"action.amount", "action.currency"}));
  EXPECT_EQ(action_error(with(reward, "channel", "sms")),
            "action.channel: is not a field of a reward action (type, amount, currency)");
}

TEST(TriggerCheck, MessageAction) {
  EXPECT_EQ(action_error(with(message_action(), "channel", "fax")),
            "action.channel: must be one of sms, whatsapp, email, push");
  for (const char* channel : {"sms", "whatsapp", "email", "push"})
    EXPECT_EQ(
        create_errors(with(big_spender(), "action", with(message_action(), "channel", channel))),
        Fields{});
  EXPECT_EQ(action_error(with(message_action(), "template",
                              "Hi {first_name}, {favourite_colour} {shoe_size} {attributes.tier}")),
            "action.template: unknown placeholders: favourite_colour, shoe_size");
  EXPECT_EQ(action_error(with(message_action(), "template", "Hi {first_name")),
            "action.template: the { at byte 4 is not closed (write {{ for a brace)");
  EXPECT_EQ(create_errors(with(big_spender(), "action",
                               with(message_action(), "template", std::string(1601, 'x')))),
            Fields{"action.template"});
  EXPECT_EQ(action_error(with(message_action(), "template", 5)),
            "action.template: must be a string");
  EXPECT_EQ(action_error(with(message_action(), "name", std::string(201, 'n'))),
            "action.name: must be a string of 1 to 200 bytes, not blank");
  json no_subject = message_action();
  no_subject.erase("name");
  EXPECT_EQ(create_errors(with(big_spender(), "action", no_subject)), Fields{});
  EXPECT_EQ(create_errors(with(big_spender(), "action", {{"type", "message"}})),
            (Fields{"action.channel", "action.template"}));
  EXPECT_EQ(create_errors(with(big_spender(), "action", with(message_action(), "amount", 1))),
            Fields{"action.amount"});
}

TEST(TriggerCheck, CampaignAction) {
  EXPECT_EQ(action_error({{"type", "campaign"}}), "action.input: is required");
  EXPECT_EQ(action_error({{"type", "campaign"}, {"input", "x"}}),
            "action.input: must be a CampaignInput object");
  json input = sample_campaign_input("Welcome back", {"alice"});
  input.erase("reviewers");
  EXPECT_EQ(create_errors(with(big_spender(), "action", {{"type", "campaign"}, {"input", input}})),
            Fields{"action.input.reviewers"});
  input = sample_campaign_input("Welcome back", {"alice"});
  input["tone"] = "shouty";
  input["foo"] = 1;
  EXPECT_EQ(create_errors(with(big_spender(), "action", {{"type", "campaign"}, {"input", input}})),
            (Fields{"action.input.foo", "action.input.tone"}));
}

TEST(TriggerCheck, CampaignUsersAndWorkflowIdAreTheEngines) {
  for (const auto& [key, value] :
       {std::pair<std::string, json>{"target_user_ids", json::array({"cust-001"})},
        {"audience", {{"segment", {{"all", true}}}}},
        {"workflow_id", "campaign-welcome"}}) {
    json input = sample_campaign_input("Welcome back", {"alice"});
    input[key] = value;
    const auto errors =
        check_trigger(with(big_spender(), "action", {{"type", "campaign"}, {"input", input}}),
                      TriggerCheck::create);
    ASSERT_EQ(fields(errors), Fields{"action.input." + key});
    EXPECT_NE(errors[0].message.find("set by the engine"), std::string::npos);
  }
}

// --- patches ---

TEST(TriggerPatch, EveryFieldIsOptional) {
  EXPECT_EQ(patch_errors(json::object()), Fields{});
  EXPECT_EQ(patch_errors({{"active", false}}), Fields{});
  EXPECT_EQ(patch_errors({{"name", "renamed"}, {"re_eligibility", "once"}}), Fields{});
  EXPECT_EQ(patch_errors({{"action", message_action()}}), Fields{});
}

TEST(TriggerPatch, NullRemovesOnlyOptionalFields) {
  EXPECT_EQ(patch_errors({{"description", nullptr},
                          {"conditions", nullptr},
                          {"active", nullptr},
                          {"window", nullptr},
                          {"re_eligibility", nullptr}}),
            Fields{});
  for (const char* key : {"name", "event_type", "action"})
    EXPECT_EQ(check_trigger({{key, nullptr}}, TriggerCheck::patch)[0].message,
              "is required and cannot be removed");
}

TEST(TriggerPatch, RefusesIdVersionUnknownAndBadValues) {
  EXPECT_EQ(patch_errors({{"id", "trg-2"}, {"version", 2}, {"owner", "x"}}),
            (Fields{"id", "owner", "version"}));
  EXPECT_EQ(patch_errors({{"name", ""}, {"window", {{"ends_at", "soon"}}}}),
            (Fields{"name", "window.ends_at"}));
  EXPECT_EQ(patch_errors(json::array()), Fields{""});
}

TEST(TriggerPatch, MergesTheTopLevel) {
  json stored = big_spender();
  stored["id"] = "trg-1";
  stored["version"] = 3;
  stored["description"] = "old";
  const json patch = {{"description", nullptr},
                      {"conditions", nullptr},
                      {"active", false},
                      {"action", {{"type", "reward"}, {"amount", 5}, {"currency", "KES"}}}};
  ASSERT_EQ(patch_errors(patch), Fields{});
  const json merged = apply_trigger_patch(stored, patch);
  EXPECT_FALSE(merged.contains("description"));
  EXPECT_FALSE(merged.contains("conditions"));
  EXPECT_EQ(merged["active"], false);
  EXPECT_EQ(merged["action"], patch["action"]);  // replaced whole
  EXPECT_EQ(merged["id"], "trg-1");
  EXPECT_EQ(merged["version"], 3);
  EXPECT_EQ(merged["name"], "big spender credit");
  json body = merged;
  body.erase("id");
  body.erase("version");
  EXPECT_EQ(create_errors(body), Fields{});
  const TriggerRule rule = parse_trigger(merged);
  EXPECT_FALSE(rule.active);
  EXPECT_TRUE(matches(rule.conditions, json::object()));  // no conditions left
  EXPECT_EQ(rule.action.amount_hundredths, 500);
  EXPECT_EQ(rule.action.currency, "KES");
}

// --- windows ---

TEST(TriggerWindow, StartsInclusiveEndsExclusiveOpenEndsBoundNothing) {
  TriggerRule rule;
  EXPECT_TRUE(in_window(rule, 1));
  EXPECT_TRUE(in_window(rule, 4'000'000'000'000));
  rule.starts_at = 1'000;
  EXPECT_FALSE(in_window(rule, 999));
  EXPECT_TRUE(in_window(rule, 1'000));
  EXPECT_TRUE(in_window(rule, 4'000'000'000'000));
  rule.ends_at = 2'000;
  EXPECT_TRUE(in_window(rule, 1'999));
  EXPECT_FALSE(in_window(rule, 2'000));
  rule.starts_at = 0;
  EXPECT_TRUE(in_window(rule, 5));
  EXPECT_FALSE(in_window(rule, 2'001));
}

TEST(TriggerWindow, ParsedFromTheStoredTimes) {
  json t = with(big_spender(), "window",
                {{"starts_at", "2026-01-01T00:00:00Z"}, {"ends_at", "2026-01-31T12:00:00+02:00"}});
  const TriggerRule rule = parse_trigger(t);
  EXPECT_EQ(rule.starts_at, *orch::engine::parse_time("2026-01-01T00:00:00Z"));
  EXPECT_EQ(rule.ends_at, *orch::engine::parse_time("2026-01-31T10:00:00Z"));
  EXPECT_TRUE(in_window(rule, *orch::engine::parse_time("2026-01-15T08:00:00Z")));
  EXPECT_FALSE(in_window(rule, *orch::engine::parse_time("2026-01-31T10:00:00Z")));
  EXPECT_FALSE(in_window(rule, *orch::engine::parse_time("2025-12-31T23:59:59Z")));
  const TriggerRule only_end =
      parse_trigger(with(big_spender(), "window", {{"ends_at", "2026-01-01T00:00:00Z"}}));
  EXPECT_EQ(only_end.starts_at, 0);
  EXPECT_TRUE(in_window(only_end, 1));
}

// --- re-eligibility ---

TEST(TriggerReEligibility, EachForm) {
  json t = big_spender();
  t.erase("re_eligibility");
  EXPECT_EQ(parse_trigger(t).re_eligibility, ReEligibility::every);
  EXPECT_EQ(parse_trigger(with(t, "re_eligibility", "every")).re_eligibility, ReEligibility::every);
  EXPECT_EQ(parse_trigger(with(t, "re_eligibility", "once")).re_eligibility, ReEligibility::once);
  const TriggerRule daily = parse_trigger(with(t, "re_eligibility", {{"once_per_hours", 24}}));
  EXPECT_EQ(daily.re_eligibility, ReEligibility::once_per_period);
  EXPECT_EQ(daily.period_ms, 86'400'000);
  EXPECT_EQ(parse_trigger(with(t, "re_eligibility", {{"once_per_hours", 0.5}})).period_ms,
            1'800'000);
  EXPECT_EQ(parse_trigger(with(t, "re_eligibility", {{"once_per_hours", 1e-9}})).period_ms, 1);
  EXPECT_EQ(parse_trigger(with(t, "re_eligibility", {{"once_per_hours", 87600}})).period_ms,
            315'360'000'000);
}

// --- the parsed rule ---

TEST(TriggerParse, RewardTriggerRoundTrip) {
  json stored = big_spender();
  stored["id"] = "trg-1";
  stored["version"] = 7;
  stored["description"] = "over 50";
  stored["action"]["amount"] = 10.25;
  const TriggerRule rule = parse_trigger(stored);
  EXPECT_EQ(rule.id, "trg-1");
  EXPECT_EQ(rule.version, 7);
  EXPECT_EQ(rule.name, "big spender credit");
  EXPECT_EQ(rule.description, "over 50");
  EXPECT_EQ(rule.event_type, "purchase");
  EXPECT_TRUE(rule.active);
  EXPECT_EQ(rule.starts_at, 0);
  EXPECT_EQ(rule.ends_at, 0);
  EXPECT_EQ(rule.re_eligibility, ReEligibility::every);
  EXPECT_EQ(to_json(rule.conditions), stored["conditions"]);
  EXPECT_TRUE(matches(rule.conditions, {{"data", {{"amount", 50.5}}}}));
  EXPECT_FALSE(matches(rule.conditions, {{"data", {{"amount", 50}}}}));
  EXPECT_EQ(rule.action.type, ActionType::reward);
  EXPECT_EQ(rule.action.amount_hundredths, 1025);
  EXPECT_EQ(rule.action.currency, "USD");
}

TEST(TriggerParse, AmountsAreExactInHundredths) {
  json t = big_spender();
  for (const auto& [amount, hundredths] : {std::pair<double, std::int64_t>{0.01, 1},
                                           {0.29, 29},
                                           {19.99, 1999},
                                           {1000000, 100000000}}) {
    t["action"]["amount"] = amount;
    EXPECT_EQ(parse_trigger(t).action.amount_hundredths, hundredths) << amount;
  }
}

TEST(TriggerParse, WithoutIdOrVersion) {
  const TriggerRule rule = parse_trigger(big_spender());
  EXPECT_EQ(rule.id, "");
  EXPECT_EQ(rule.version, 0);
  EXPECT_EQ(rule.description, "");
}

TEST(TriggerParse, MessageAction) {
  const TriggerRule rule = parse_trigger(with(big_spender(), "action", message_action()));
  EXPECT_EQ(rule.action.type, ActionType::message);
  EXPECT_EQ(rule.action.channel, "sms");
  EXPECT_EQ(rule.action.template_text, message_action()["template"].get<std::string>());
  EXPECT_EQ(rule.action.subject, "Thanks");
  ASSERT_TRUE(rule.action.compiled.has_value());
  EXPECT_EQ(rule.action.compiled->render({{"first_name", "Alice"}, {"location", "Nairobi"}}),
            "Hi Alice, thanks for shopping at Nairobi!");
  EXPECT_EQ(rule.action.compiled->render(json::object()), "Hi there, thanks for shopping at !");
}

TEST(TriggerParse, CampaignAction) {
  const TriggerRule rule = parse_trigger(with(big_spender(), "action", campaign_action()));
  EXPECT_EQ(rule.action.type, ActionType::campaign);
  EXPECT_EQ(rule.action.campaign_input, campaign_action()["input"]);
  json input = rule.action.campaign_input;
  input["target_user_ids"] = {"cust-001"};  // what the engine adds
  EXPECT_TRUE(orch::phases::validate_campaign_input(input).empty());
}

TEST(TriggerParse, WithoutConditionsEveryEventMatches) {
  json t = big_spender();
  t.erase("conditions");
  const TriggerRule rule = parse_trigger(t);
  EXPECT_TRUE(matches(rule.conditions, {{"type", "purchase"}}));
}

}  // namespace
