#include "phases/campaign/approval_policy.h"

#include <set>

namespace orch::phases {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxLevels = 5;
constexpr std::size_t kMaxReviewers = 50;
constexpr std::size_t kMaxName = 200;

std::vector<std::string> strings_of(const json& array) {
  std::vector<std::string> out;
  if (!array.is_array()) return out;
  for (const json& v : array)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

ApprovalLevel level_of(const json& level) {
  ApprovalLevel out;
  out.name = level.value("name", "");
  out.reviewers = strings_of(level.value("reviewers", json::array()));
  out.quorum = level.value("quorum", 1);
  return out;
}

void check_level(const json& level, const std::string& where, std::set<std::string>* names,
                 std::vector<FieldError>* errors) {
  auto add = [&](const std::string& field, const std::string& message) {
    errors->push_back({where + (field.empty() ? "" : "." + field), message});
  };
  if (!level.is_object()) return add("", "must be an object {name, reviewers, quorum}");
  for (const auto& [key, value] : level.items())
    if (key != "name" && key != "reviewers" && key != "quorum") add(key, "is not a level field");
  const json name = level.value("name", json());
  if (!name.is_string() || name.get<std::string>().empty() ||
      name.get<std::string>().size() > 64)
    add("name", "must be a non-empty string of at most 64 characters");
  else if (!names->insert(name.get<std::string>()).second)
    add("name", "repeats another level's name");
  const json reviewers = level.value("reviewers", json());
  std::set<std::string> seen;
  if (!reviewers.is_array() || reviewers.empty() || reviewers.size() > kMaxReviewers) {
    add("reviewers", "must be an array of 1 to 50 reviewer names");
  } else {
    for (const json& r : reviewers)
      if (!r.is_string() || r.get<std::string>().empty() || r.get<std::string>().size() > kMaxName ||
          !seen.insert(r.get<std::string>()).second) {
        add("reviewers", "must hold distinct non-empty names");
        break;
      }
  }
  if (level.contains("quorum")) {
    const json& q = level["quorum"];
    if (!q.is_number_integer() || q.get<long long>() < 1 ||
        (reviewers.is_array() && q.get<long long>() > static_cast<long long>(reviewers.size())))
      add("quorum", "must be an integer from 1 to the number of reviewers");
  }
}

}  // namespace

ApprovalPolicy campaign_approval_policy(const json& input) {
  ApprovalPolicy policy;
  policy.submitter = input.value("submitted_by", "");
  const json none;
  const json& p = input.contains("approval_policy") ? input["approval_policy"] : none;
  if (!p.is_object()) {
    policy.levels.push_back({"approval", strings_of(input.value("reviewers", json::array())), 1});
    return policy;
  }
  for (const json& level : p.value("levels", json::array())) policy.levels.push_back(level_of(level));
  policy.allow_self_approval = !p.value("forbid_self_approval", false);
  if (p.contains("large_audience") && p["large_audience"].is_object()) {
    const json& large = p["large_audience"];
    const double threshold = large.value("threshold", 0.0);
    const double audience = input.value("audience_size", 0.0);
    if (audience > threshold && large.contains("level"))
      policy.levels.push_back(level_of(large["level"]));
  }
  return policy;
}

void validate_approval_fields(const json& input, std::vector<FieldError>* errors) {
  if (input.contains("audience_size")) {
    const json& a = input["audience_size"];
    if (!a.is_number_integer() || a.get<long long>() < 0)
      errors->push_back({"audience_size", "must be a non-negative integer"});
  }
  if (input.contains("submitted_by")) {
    const json& s = input["submitted_by"];
    if (!s.is_string() || s.get<std::string>().empty() || s.get<std::string>().size() > kMaxName)
      errors->push_back({"submitted_by", "must be a non-empty string of at most 200 characters"});
  }
  if (!input.contains("approval_policy")) return;
  const json& p = input["approval_policy"];
  if (!p.is_object()) {
    errors->push_back({"approval_policy", "must be an object {levels, forbid_self_approval?, "
                                          "large_audience?}"});
    return;
  }
  for (const auto& [key, value] : p.items())
    if (key != "levels" && key != "forbid_self_approval" && key != "large_audience")
      errors->push_back({"approval_policy." + key, "is not an approval_policy field"});
  std::set<std::string> names;
  const json levels = p.value("levels", json());
  if (!levels.is_array() || levels.empty() || levels.size() > kMaxLevels) {
    errors->push_back({"approval_policy.levels", "must be an array of 1 to 5 levels"});
  } else {
    for (std::size_t i = 0; i < levels.size(); ++i)
      check_level(levels[i], "approval_policy.levels[" + std::to_string(i) + "]", &names, errors);
  }
  if (p.contains("forbid_self_approval") && !p["forbid_self_approval"].is_boolean())
    errors->push_back({"approval_policy.forbid_self_approval", "must be true or false"});
  if (p.contains("large_audience")) {
    const json& large = p["large_audience"];
    if (!large.is_object() || !large.contains("threshold") || !large.contains("level")) {
      errors->push_back({"approval_policy.large_audience",
                         "must be an object {threshold, level}"});
      return;
    }
    for (const auto& [key, value] : large.items())
      if (key != "threshold" && key != "level")
        errors->push_back({"approval_policy.large_audience." + key, "is not a field"});
    if (!large["threshold"].is_number_integer() || large["threshold"].get<long long>() < 0)
      errors->push_back({"approval_policy.large_audience.threshold",
                         "must be a non-negative integer"});
    check_level(large["level"], "approval_policy.large_audience.level", &names, errors);
  }
}

}  // namespace orch::phases
