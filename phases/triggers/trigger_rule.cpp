#include "phases/triggers/trigger_rule.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <string_view>

#include "engine/time/time_format.h"

namespace orch::phases::triggers {

using nlohmann::json;

namespace {

using Errors = std::vector<FieldError>;

constexpr std::size_t kMaxNameBytes = 200;
constexpr std::size_t kMaxDescriptionBytes = 2'000;
constexpr std::size_t kMaxEventTypeBytes = 128;
constexpr std::size_t kMaxTimeBytes = 64;
constexpr double kMaxRewardAmount = 1'000'000;
constexpr double kMaxPeriodHours = 87'600;  // ten years
constexpr double kMsPerHour = 3'600'000;
constexpr double kHundredthsTolerance = 1e-6;  // of amount x 100, far above double's error

constexpr std::array<std::string_view, 8> kFields = {"name",           "description", "event_type",
                                                     "conditions",     "active",      "window",
                                                     "re_eligibility", "action"};
constexpr std::array<std::string_view, 3> kRequired = {"name", "event_type", "action"};
constexpr std::array<std::string_view, 4> kChannels = {"sms", "whatsapp", "email", "push"};
// CampaignInput fields the engine sets for each event: the event's customer
// as the one user, and a workflow id of the campaign's own.
constexpr std::array<std::string_view, 3> kSetByEngine = {"target_user_ids", "audience",
                                                          "workflow_id"};

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
}

bool event_type_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '/' || c == '-';
}

// A string of 1 to `max` bytes, not only spaces.
bool short_name(const json& v, std::size_t max) {
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  return !s.empty() && s.size() <= max && !blank(s);
}

void check_event_type(const json& v, Errors* errors) {
  const bool ok = v.is_string() && !v.get_ref<const std::string&>().empty() &&
                  v.get_ref<const std::string&>().size() <= kMaxEventTypeBytes &&
                  std::all_of(v.get_ref<const std::string&>().begin(),
                              v.get_ref<const std::string&>().end(), event_type_char);
  if (!ok) errors->push_back({"event_type", "must be 1 to 128 of A-Z a-z 0-9 . _ : / -"});
}

// The time of window.<key>, or nullopt (with an error if it is there but bad).
std::optional<engine::TimeMs> window_time(const json& window, const std::string& key,
                                          Errors* errors) {
  auto it = window.find(key);
  if (it == window.end()) return std::nullopt;
  std::optional<engine::TimeMs> t;
  if (it->is_string() && it->get_ref<const std::string&>().size() <= kMaxTimeBytes)
    t = engine::parse_time(it->get_ref<const std::string&>());
  if (!t || *t <= 0) {
    errors->push_back(
        {"window." + key, "must be an RFC 3339 date-time after 1970, e.g. 2026-12-01T09:00:00Z"});
    return std::nullopt;
  }
  return t;
}

void check_window(const json& v, Errors* errors) {
  if (!v.is_object())
    return errors->push_back({"window", R"(must be {"starts_at": <time>, "ends_at": <time>})"});
  for (const auto& [key, value] : v.items())
    if (key != "starts_at" && key != "ends_at")
      errors->push_back({"window." + key, "is not a window field (starts_at, ends_at)"});
  const auto starts = window_time(v, "starts_at", errors);
  const auto ends = window_time(v, "ends_at", errors);
  if (starts && ends && *ends <= *starts)
    errors->push_back({"window.ends_at", "must be after starts_at"});
}

bool valid_period(const json& hours) {
  return hours.is_number() && hours.get<double>() > 0 && hours.get<double>() <= kMaxPeriodHours;
}

void check_re_eligibility(const json& v, Errors* errors) {
  if (v == "once" || v == "every") return;
  if (!v.is_object() || v.size() != 1 || !v.contains("once_per_hours"))
    return errors->push_back(
        {"re_eligibility", R"(must be "once", "every" or {"once_per_hours": N})"});
  if (!valid_period(v["once_per_hours"]))
    errors->push_back({"re_eligibility.once_per_hours", "must be a number of hours in (0, 87600]"});
}

// ---- actions ----

void refuse_unknown_keys(const json& action, std::initializer_list<std::string_view> keys,
                         const std::string& kind, Errors* errors) {
  std::string list;
  for (std::string_view k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
  for (const auto& [key, value] : action.items())
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      errors->push_back(
          {"action." + key, "is not a field of a " + kind + " action (" + list + ")"});
}

bool valid_amount(const json& v) {
  if (!v.is_number()) return false;
  const double amount = v.get<double>();
  if (!(amount > 0 && amount <= kMaxRewardAmount)) return false;
  const double hundredths = amount * 100;
  return std::abs(hundredths - std::round(hundredths)) < kHundredthsTolerance;
}

bool valid_currency(const json& v) {
  if (!v.is_string() || v.get_ref<const std::string&>().size() != 3) return false;
  const std::string& s = v.get_ref<const std::string&>();
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

void check_reward(const json& action, Errors* errors) {
  refuse_unknown_keys(action, {"type", "amount", "currency"}, "reward", errors);
  if (!action.contains("amount"))
    errors->push_back({"action.amount", "is required"});
  else if (!valid_amount(action["amount"]))
    errors->push_back(
        {"action.amount", "must be a number in (0, 1000000] with at most 2 decimals"});
  if (!action.contains("currency"))
    errors->push_back({"action.currency", "is required"});
  else if (!valid_currency(action["currency"]))
    errors->push_back({"action.currency", "must be 3 upper-case letters, e.g. USD"});
}

// As a broadcast's base template: unknown placeholders listed, then the
// first syntax error.
void check_message_template(const json& v, Errors* errors) {
  if (!v.is_string()) return errors->push_back({"action.template", "must be a string"});
  audience::TemplateError e;
  if (audience::check_template(v.get_ref<const std::string&>(), &e)) return;
  if (!e.unknown.empty()) {
    std::string list;
    for (const std::string& u : e.unknown) list += (list.empty() ? "" : ", ") + u;
    errors->push_back({"action.template", "unknown placeholders: " + list});
  }
  if (!e.syntax.empty()) errors->push_back({"action.template", e.syntax});
}

void check_message(const json& action, Errors* errors) {
  refuse_unknown_keys(action, {"type", "channel", "template", "name"}, "message", errors);
  auto channel = action.find("channel");
  if (channel == action.end())
    errors->push_back({"action.channel", "is required"});
  else if (!channel->is_string() || !one_of(kChannels, channel->get_ref<const std::string&>()))
    errors->push_back({"action.channel", "must be one of sms, whatsapp, email, push"});
  if (!action.contains("template"))
    errors->push_back({"action.template", "is required"});
  else
    check_message_template(action["template"], errors);
  if (action.contains("name") && !short_name(action["name"], kMaxNameBytes))
    errors->push_back({"action.name", "must be a string of 1 to 200 bytes, not blank"});
}

void check_campaign(const json& action, Errors* errors) {
  refuse_unknown_keys(action, {"type", "input"}, "campaign", errors);
  auto input = action.find("input");
  if (input == action.end()) return errors->push_back({"action.input", "is required"});
  if (!input->is_object())
    return errors->push_back({"action.input", "must be a CampaignInput object"});
  json rest = *input;
  for (std::string_view key : kSetByEngine) {
    if (!rest.contains(std::string(key))) continue;
    errors->push_back({"action.input." + std::string(key),
                       "is set by the engine for each event (the event's customer is the "
                       "campaign's one user, with a workflow id of its own)"});
    rest.erase(std::string(key));
  }
  for (FieldError& e : validate_campaign_input(rest))
    errors->push_back(
        {e.field.empty() ? "action.input" : "action.input." + e.field, std::move(e.message)});
}

void check_action(const json& v, Errors* errors) {
  if (!v.is_object()) return errors->push_back({"action", "must be an object with a type"});
  auto type = v.find("type");
  if (type == v.end()) return errors->push_back({"action.type", "is required"});
  if (*type == "reward") return check_reward(v, errors);
  if (*type == "message") return check_message(v, errors);
  if (*type == "campaign") return check_campaign(v, errors);
  errors->push_back({"action.type", "must be one of reward, message, campaign"});
}

void check_field(const std::string& key, const json& value, TriggerCheck mode, Errors* errors) {
  if (key == "id" || key == "version")
    return errors->push_back({key, "is set by the store, not by a request"});
  if (!one_of(kFields, key)) return errors->push_back({key, "is not a trigger field"});
  if (value.is_null() && mode == TriggerCheck::patch) {
    if (one_of(kRequired, key)) errors->push_back({key, "is required and cannot be removed"});
    return;  // removes an optional field
  }
  if (key == "name" && !short_name(value, kMaxNameBytes))
    errors->push_back({key, "must be a string of 1 to 200 bytes, not blank"});
  else if (key == "description" &&
           (!value.is_string() ||
            value.get_ref<const std::string&>().size() > kMaxDescriptionBytes))
    errors->push_back({key, "must be a string of at most 2,000 bytes"});
  else if (key == "event_type")
    check_event_type(value, errors);
  else if (key == "conditions")
    (void)compile_condition(value, errors, "conditions");
  else if (key == "active" && !value.is_boolean())
    errors->push_back({key, "must be a boolean"});
  else if (key == "window")
    check_window(value, errors);
  else if (key == "re_eligibility")
    check_re_eligibility(value, errors);
  else if (key == "action")
    check_action(value, errors);
}

// ---- reading a checked trigger ----

engine::TimeMs stored_time(const json& window, const char* key) {
  auto it = window.find(key);
  if (it == window.end()) return 0;
  return engine::parse_time(it->get_ref<const std::string&>()).value_or(0);
}

TriggerAction parse_action(const json& a) {
  TriggerAction action;
  const std::string& type = a.at("type").get_ref<const std::string&>();
  if (type == "reward") {
    action.type = ActionType::reward;
    action.amount_hundredths = std::llround(a.at("amount").get<double>() * 100);
    action.currency = a.at("currency").get<std::string>();
  } else if (type == "message") {
    action.type = ActionType::message;
    action.channel = a.at("channel").get<std::string>();
    action.template_text = a.at("template").get<std::string>();
    action.compiled = audience::MessageTemplate::compile(action.template_text, nullptr);
    action.subject = a.value("name", "");
  } else {
    action.type = ActionType::campaign;
    action.campaign_input = a.at("input");
  }
  return action;
}

}  // namespace

std::vector<FieldError> check_trigger(const json& body, TriggerCheck mode) {
  if (!body.is_object()) return {{"", "must be a JSON object (a trigger)"}};
  Errors errors;
  for (const auto& [key, value] : body.items()) check_field(key, value, mode, &errors);
  if (mode == TriggerCheck::create)
    for (std::string_view key : kRequired)
      if (!body.contains(key)) errors.push_back({std::string(key), "is required"});
  return errors;
}

TriggerRule parse_trigger(const json& stored) {
  TriggerRule rule;
  if (auto id = stored.find("id"); id != stored.end() && id->is_string())
    rule.id = id->get<std::string>();
  if (auto v = stored.find("version"); v != stored.end() && v->is_number_integer())
    rule.version = v->get<std::int64_t>();
  rule.name = stored.at("name").get<std::string>();
  rule.description = stored.value("description", "");
  rule.event_type = stored.at("event_type").get<std::string>();
  if (auto c = stored.find("conditions"); c != stored.end()) {
    Errors ignored;  // none: it was checked
    rule.conditions = compile_condition(*c, &ignored).value_or(Condition{});
  }
  rule.active = stored.value("active", true);
  if (auto w = stored.find("window"); w != stored.end()) {
    rule.starts_at = stored_time(*w, "starts_at");
    rule.ends_at = stored_time(*w, "ends_at");
  }
  if (auto r = stored.find("re_eligibility"); r != stored.end()) {
    if (*r == "once") {
      rule.re_eligibility = ReEligibility::once;
    } else if (r->is_object()) {
      rule.re_eligibility = ReEligibility::once_per_period;
      const double ms = r->at("once_per_hours").get<double>() * kMsPerHour;
      rule.period_ms = std::max<engine::TimeMs>(1, std::llround(ms));
    }
  }
  rule.action = parse_action(stored.at("action"));
  return rule;
}

json apply_trigger_patch(const json& stored, const json& patch) {
  json merged = stored;
  for (const auto& [key, value] : patch.items()) {
    if (value.is_null())
      merged.erase(key);
    else
      merged[key] = value;
  }
  return merged;
}

bool in_window(const TriggerRule& rule, engine::TimeMs at) {
  return (rule.starts_at == 0 || at >= rule.starts_at) && (rule.ends_at == 0 || at < rule.ends_at);
}

}  // namespace orch::phases::triggers
