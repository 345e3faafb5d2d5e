#include "phases/campaign/campaign_input.h"

#include "engine/time/time_format.h"
#include "phases/campaign/approval_policy.h"
#include "phases/user_actor/user_requests.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <string_view>
#include <unordered_set>

namespace orch::phases {

using nlohmann::json;

namespace {
constexpr std::size_t kMaxName = 200;
constexpr std::size_t kMaxText = 2000;
constexpr std::size_t kMaxList = 50;
constexpr std::size_t kMaxTargetUsers = 1000;
constexpr std::size_t kMaxAudienceIds = 100'000;
constexpr std::size_t kMaxLocation = 256;  // as a broadcast send's segment
// Errors listed per customer id at most (the list may hold 100,000).
constexpr std::size_t kMaxAudienceIdErrors = 10;

const std::set<std::string> kChannels = {"email", "social", "blog", "sms",
                                         "whatsapp", "push", "in_app"};
const std::set<std::string> kTones = {"professional", "casual", "technical"};
const std::set<std::string> kSources = {"notion", "web", "memory"};
const std::set<std::string> kFields = {
    "campaign_name", "channels",       "research_sources", "competitor_urls",
    "target_audience", "campaign_goals", "tone",           "brand_voice_id",
    "templates",     "reviewers",      "schedule_time",    "metrics",
    "workflow_id",   "approval_timeout_seconds", "escalation_reviewers",
    "approval_policy", "audience_size", "submitted_by", "target_user_ids", "audience"};

// Whether items[i], a string, equals a string item before it. Equal strings
// pass the same checks, so this says what a set of the valid ones seen would.
bool repeats_earlier(const json::array_t& items, std::size_t i) {
  const std::string& s = items[i].get_ref<const std::string&>();
  for (std::size_t j = 0; j < i; ++j)
    if (items[j].is_string() && items[j].get_ref<const std::string&>() == s) return true;
  return false;
}

bool blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
}

class Checker {
 public:
  explicit Checker(const json& in) : in_(in) {}
  std::vector<FieldError> errors;

  void add(std::string field, std::string message) {
    errors.push_back({std::move(field), std::move(message)});
  }

  bool string_field(const std::string& name, bool required, std::size_t max = kMaxText) {
    if (!in_.contains(name)) {
      if (required) add(name, "is required");
      return false;
    }
    const json& v = in_[name];
    if (!v.is_string()) return add(name, "must be a string"), false;
    const std::string& s = v.get_ref<const std::string&>();
    if (s.empty() || blank(s)) return add(name, "must not be empty"), false;
    if (s.size() > max) return add(name, "is longer than " + std::to_string(max)), false;
    return true;
  }

  // Validates an array of non-empty unique strings; `allowed` empty = any.
  void string_list(const std::string& name, bool required, std::size_t min_items,
                   const std::set<std::string>& allowed = {}) {
    if (!in_.contains(name)) {
      if (required) add(name, "is required");
      return;
    }
    const json& v = in_[name];
    if (!v.is_array()) return add(name, "must be an array of strings");
    if (v.size() < min_items)
      return add(name, "needs at least " + std::to_string(min_items) + " item(s)");
    if (v.size() > kMaxList) return add(name, "has more than " + std::to_string(kMaxList) + " items");
    // At most kMaxList items: a repeat is found by comparing with the ones
    // before, without a set of copies. Field names are built only for errors.
    const auto& items = v.get_ref<const json::array_t&>();
    auto field = [&](std::size_t i) { return name + "[" + std::to_string(i) + "]"; };
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_string()) {
        add(field(i), "must be a string");
        continue;
      }
      const std::string& s = items[i].get_ref<const std::string&>();
      if (s.empty() || blank(s)) add(field(i), "must not be empty");
      else if (s.size() > kMaxText) add(field(i), "is too long");
      else if (!allowed.empty() && !allowed.count(s)) add(field(i), "'" + s + "' is not allowed");
      else if (repeats_earlier(items, i)) add(field(i), "'" + s + "' is repeated");
    }
  }

 private:
  const json& in_;
};

bool valid_url(const std::string& s) {
  auto scheme_end = s.find("://");
  if (scheme_end == std::string::npos) return false;
  const std::string scheme = s.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return false;
  const std::string rest = s.substr(scheme_end + 3);
  if (rest.empty() || rest[0] == '/') return false;
  return std::none_of(s.begin(), s.end(),
                      [](unsigned char c) { return std::isspace(c) || std::iscntrl(c); });
}

// target_user_ids: 1 to kMaxTargetUsers distinct user ids (a set of views
// into the input finds repeats without copies).
void check_target_users(const json& input, std::vector<FieldError>* errors) {
  auto it = input.find("target_user_ids");
  if (it == input.end()) return;
  const std::string name = "target_user_ids";
  if (!it->is_array()) return errors->push_back({name, "must be an array of user ids"});
  if (it->empty()) return errors->push_back({name, "needs at least 1 user id"});
  if (it->size() > kMaxTargetUsers)
    return errors->push_back(
        {name, "has more than " + std::to_string(kMaxTargetUsers) + " user ids"});
  std::unordered_set<std::string_view> seen;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& id = (*it)[i];
    const std::string field = name + "[" + std::to_string(i) + "]";
    if (!id.is_string()) {
      errors->push_back({field, "must be a string"});
    } else if (!user_actor::valid_user_id(id.get_ref<const std::string&>())) {
      errors->push_back({field, "must be 1-128 characters of A-Z a-z 0-9 . _ - @ +"});
    } else if (!seen.insert(id.get_ref<const std::string&>()).second) {
      errors->push_back({field, "'" + id.get<std::string>() + "' is repeated"});
    }
  }
}

// audience: {"customer_ids": [1 to kMaxAudienceIds distinct customer ids]}
// or {"segment": {"location": "<location>"}} or {"segment": {"all": true}};
// only its shape (whether the customers exist is found at send time). It
// is sent to on sms and whatsapp, instead of target_user_ids.
void check_audience(const json& input, std::vector<FieldError>* errors) {
  auto it = input.find("audience");
  if (it == input.end()) return;
  const std::string name = "audience";
  if (input.contains("target_user_ids"))
    errors->push_back({name, "give either audience or target_user_ids, not both"});
  if (auto ch = input.find("channels"); ch != input.end() && ch->is_array() &&
                                        std::find(ch->begin(), ch->end(), json("sms")) == ch->end() &&
                                        std::find(ch->begin(), ch->end(), json("whatsapp")) == ch->end())
    errors->push_back({name, "is sent to on sms and whatsapp: channels has neither"});
  const bool ids = it->is_object() && it->size() == 1 && it->contains("customer_ids");
  const bool segment = it->is_object() && it->size() == 1 && it->contains("segment");
  if (!ids && !segment)
    return errors->push_back(
        {name, R"(must be {"customer_ids": [...]} or {"segment": {...}}, exactly one)"});
  if (segment) {
    const json& s = (*it)["segment"];
    const bool all = s.is_object() && s.size() == 1 && s.contains("all") && s["all"] == true;
    const bool location = s.is_object() && s.size() == 1 && s.contains("location") &&
                          s["location"].is_string() &&
                          !blank(s["location"].get_ref<const std::string&>()) &&
                          s["location"].get_ref<const std::string&>().size() <= kMaxLocation;
    if (!all && !location)
      errors->push_back({name + ".segment", R"(must be {"location": "<location>"} or {"all": true})"});
    return;
  }
  const json& list = (*it)["customer_ids"];
  const std::string field = name + ".customer_ids";
  if (!list.is_array() || list.empty() || list.size() > kMaxAudienceIds)
    return errors->push_back({field, "must be an array of 1 to 100,000 customer ids"});
  std::unordered_set<std::string_view> seen;
  std::size_t bad = 0;
  auto refuse = [&](std::size_t i, std::string message) {
    errors->push_back({field + "[" + std::to_string(i) + "]", std::move(message)});
    ++bad;
  };
  for (std::size_t i = 0; i < list.size() && bad < kMaxAudienceIdErrors; ++i) {
    const json& id = list[i];
    if (!id.is_string())
      refuse(i, "must be a string");
    else if (!user_actor::valid_user_id(id.get_ref<const std::string&>()))
      refuse(i, "must be 1-128 characters of A-Z a-z 0-9 . _ - @ +");
    else if (!seen.insert(id.get_ref<const std::string&>()).second)
      refuse(i, "'" + id.get<std::string>() + "' is repeated");
  }
}

}  // namespace

nlohmann::json sample_campaign_input(const std::string& campaign_name,
                                     const std::vector<std::string>& reviewers) {
  return {{"campaign_name", campaign_name},
          {"channels", {"email", "social", "blog"}},
          {"research_sources", {"notion", "web", "memory"}},
          {"competitor_urls", {"https://competitor.example.com"}},
          {"target_audience", "B2B marketers"},
          {"campaign_goals", {"awareness"}},
          {"tone", "professional"},
          {"reviewers", reviewers}};
}

bool valid_workflow_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  if (!std::isalnum(static_cast<unsigned char>(id[0]))) return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
  });
}

std::string campaign_workflow_id(const std::string& campaign_name, const std::string& suffix) {
  std::string slug;
  for (unsigned char c : campaign_name) {
    if (std::isalnum(c)) slug.push_back(static_cast<char>(std::tolower(c)));
    else if (!slug.empty() && slug.back() != '-') slug.push_back('-');
    if (slug.size() >= 40) break;
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  return "campaign-" + (slug.empty() ? std::string("untitled") : slug) + "-" + suffix;
}

std::vector<FieldError> validate_campaign_input(const json& input) {
  Checker c(input);
  if (!input.is_object()) {
    c.add("", "the body must be a JSON object (a CampaignInput)");
    return c.errors;
  }
  for (const auto& [key, value] : input.items())
    if (!kFields.count(key)) c.add(key, "is not a CampaignInput field");
  c.string_field("campaign_name", true, kMaxName);
  c.string_list("channels", true, 1, kChannels);
  c.string_list("research_sources", true, 0, kSources);
  c.string_list("competitor_urls", true, 0);
  if (input.contains("competitor_urls") && input["competitor_urls"].is_array()) {
    const json& urls = input["competitor_urls"];
    for (std::size_t i = 0; i < urls.size(); ++i)
      if (urls[i].is_string() && !urls[i].get<std::string>().empty() &&
          !valid_url(urls[i].get<std::string>()))
        c.add("competitor_urls[" + std::to_string(i) + "]", "must be an http(s) URL");
  }
  c.string_field("target_audience", true);
  c.string_list("campaign_goals", true, 0);
  if (c.string_field("tone", true) && !kTones.count(input["tone"].get<std::string>()))
    c.add("tone", "must be one of professional, casual, technical");
  c.string_field("brand_voice_id", false, kMaxName);
  c.string_list("templates", false, 0);
  c.string_list("reviewers", true, 1);
  c.string_list("escalation_reviewers", false, 0);
  if (c.string_field("schedule_time", false, 64) &&
      !engine::parse_time(input["schedule_time"].get<std::string>()))
    c.add("schedule_time", "must be an RFC 3339 date-time, e.g. 2026-12-01T09:00:00Z");
  c.string_list("metrics", false, 0);
  if (c.string_field("workflow_id", false, 128) &&
      !valid_workflow_id(input["workflow_id"].get<std::string>()))
    c.add("workflow_id", "must be 1-128 characters of A-Z a-z 0-9 . _ - starting alphanumeric");
  if (input.contains("approval_timeout_seconds")) {
    const json& t = input["approval_timeout_seconds"];
    if (!t.is_number() || t.get<double>() <= 0 || t.get<double>() > 365.0 * 86400)
      c.add("approval_timeout_seconds", "must be a number of seconds in (0, 31536000]");
  }
  validate_approval_fields(input, &c.errors);
  check_target_users(input, &c.errors);
  check_audience(input, &c.errors);
  return c.errors;
}

}  // namespace orch::phases
