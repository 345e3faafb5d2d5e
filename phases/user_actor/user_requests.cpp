#include "phases/user_actor/user_requests.h"

#include <algorithm>
#include <set>

#include "phases/user_actor/frequency_rules.h"
#include "phases/user_actor/user_actor.h"

namespace orch::phases::user_actor {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxIdLength = 128;
constexpr std::size_t kMaxNameLength = 200;
constexpr int kMaxCap = 1'000'000;
constexpr double kMaxGapHours = 24.0 * 366;
constexpr std::size_t kMaxPreferencesBytes = 16 * 1024;

bool is_cap_key(const std::string& key) {
  static const std::set<std::string> kCaps = [] {
    std::set<std::string> caps = {"max_messages_per_day", "max_messages_per_week",
                                  "max_messages_per_month", "max_emails_per_week"};
    for (std::string_view c : kChannels) caps.insert("max_" + std::string(c) + "_per_week");
    return caps;
  }();
  return kCaps.count(key) > 0;
}

void check_string(const json& body, const char* name, bool required, std::size_t max,
                  std::vector<FieldError>* errors) {
  auto it = body.find(name);
  if (it == body.end()) {
    if (required) errors->push_back({name, "is required"});
    return;
  }
  if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
      it->get_ref<const std::string&>().size() > max)
    errors->push_back({name, "must be a string of 1 to " + std::to_string(max) + " characters"});
}

void check_channel(const json& body, std::vector<FieldError>* errors) {
  auto it = body.find("channel");
  if (it == body.end()) return errors->push_back({"channel", "is required"});
  if (!it->is_string() || !known_channel(it->get_ref<const std::string&>()))
    errors->push_back({"channel", "must be one of email, social, blog, sms, whatsapp, push, in_app"});
}

void check_quiet_hours(const json& q, std::vector<FieldError>* errors) {
  if (q.is_null()) return;
  if (!q.is_object()) return errors->push_back({"quiet_hours", "must be {start, end} or null"});
  for (const auto& [key, value] : q.items()) {
    if (key != "start" && key != "end")
      errors->push_back({"quiet_hours." + key, "is not a known field"});
    else if (!value.is_string() || !parse_clock(value.get<std::string>()))
      errors->push_back({"quiet_hours." + key, "must be a local time HH:MM"});
  }
  if (!q.contains("start") || !q.contains("end"))
    errors->push_back({"quiet_hours", "needs both start and end"});
}

void check_rolling(const json& r, std::vector<FieldError>* errors) {
  if (!r.is_array()) return errors->push_back({"rolling", "must be an array of day, week, month"});
  std::set<std::string> seen;
  for (const json& w : r)
    if (!w.is_string() || !std::set<std::string>{"day", "week", "month"}.count(w.get<std::string>()) ||
        !seen.insert(w.get<std::string>()).second)
      return errors->push_back({"rolling", "must list day, week or month, each at most once"});
}

}  // namespace

bool valid_user_id(const std::string& id) {
  return !id.empty() && id.size() <= kMaxIdLength &&
         std::all_of(id.begin(), id.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '@' || c == '+';
         });
}

std::vector<FieldError> validate_settings(const json& body) {
  std::vector<FieldError> errors;
  for (const auto& [key, value] : body.items()) {
    if (is_cap_key(key)) {
      if (!value.is_number_integer() || value.get<long long>() < 0 || value.get<long long>() > kMaxCap)
        errors.push_back({key, "must be an integer from 0 to " + std::to_string(kMaxCap)});
    } else if (key == "min_hours_between_messages") {
      if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > kMaxGapHours)
        errors.push_back({key, "must be a number of hours from 0 to 8784"});
    } else if (key == "timezone") {
      if (!value.is_string() || !valid_timezone(value.get<std::string>()))
        errors.push_back({key, "must be an IANA time zone, e.g. Europe/Paris"});
    } else if (key == "quiet_hours") {
      check_quiet_hours(value, &errors);
    } else if (key == "rolling") {
      check_rolling(value, &errors);
    } else if (key == "preferences") {
      if (!value.is_object()) errors.push_back({key, "must be an object"});
      else if (value.dump().size() > kMaxPreferencesBytes)
        errors.push_back({key, "must be at most 16 KiB of JSON"});
    } else {
      errors.push_back({key, "is not a known field"});
    }
  }
  return errors;
}

std::vector<FieldError> validate_channel_body(const json& body) {
  std::vector<FieldError> errors;
  check_channel(body, &errors);
  for (const auto& [key, value] : body.items())
    if (key != "channel") errors.push_back({key, "is not a known field"});
  return errors;
}

std::vector<FieldError> validate_reservation(const json& body) {
  static const std::set<std::string> kKnown = {
      "campaign_id", "channel",     "message_id",         "priority",     "on_capped",
      "obeys_caps",  "counts_toward_caps", "ttl_seconds", "campaign_name"};
  std::vector<FieldError> errors;
  check_string(body, "campaign_id", true, kMaxNameLength, &errors);
  check_string(body, "message_id", true, kMaxNameLength, &errors);
  check_string(body, "campaign_name", false, kMaxNameLength, &errors);
  check_channel(body, &errors);
  if (auto it = body.find("priority"); it != body.end() &&
      (!it->is_string() || !std::set<std::string>{"low", "normal", "high"}.count(it->get<std::string>())))
    errors.push_back({"priority", "must be low, normal or high (high ignores quiet hours)"});
  if (auto it = body.find("on_capped"); it != body.end() &&
      (!it->is_string() || (*it != "drop" && *it != "defer")))
    errors.push_back({"on_capped", "must be drop or defer"});
  for (const char* flag : {"obeys_caps", "counts_toward_caps"})
    if (auto it = body.find(flag); it != body.end() && !it->is_boolean())
      errors.push_back({flag, "must be true or false"});
  if (auto it = body.find("ttl_seconds"); it != body.end() &&
      (!it->is_number_integer() || it->get<long long>() < 1 ||
       it->get<long long>() > kMaxReservationTtlMs / 1000))
    errors.push_back({"ttl_seconds", "must be an integer from 1 to 86400"});
  for (const auto& [key, value] : body.items())
    if (!kKnown.count(key)) errors.push_back({key, "is not a known field"});
  return errors;
}

}  // namespace orch::phases::user_actor
