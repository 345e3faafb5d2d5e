// The campaign's approval chain as the review gate's tally: who may decide
// which level, quorums, rounds, and the chain's JSON views.
#include "phases/campaign/approval_chain.h"

#include <algorithm>
#include <vector>

#include "engine/time/time_format.h"
#include "engine/workflow/workflow_state.h"
#include "phases/campaign/approval_policy.h"

namespace orch::phases {

using engine::AuditEntry;
using engine::SignalCode;
using engine::SignalResult;
using engine::WorkflowState;
using nlohmann::json;

namespace {

class ApprovalChain final : public engine::GateTally {
 public:
  ApprovalChain(ApprovalPolicy policy, std::vector<std::string> second_line)
      : policy_(std::move(policy)),
        second_line_(std::move(second_line)),
        approvers_(policy_.levels.size()) {}

  SignalResult judge(const WorkflowState& st, bool approve, json& payload) const override;
  std::string count(bool approve, const json& payload, AuditEntry& entry) override;
  void withdraw() override;
  bool passed() const override { return current_level_ >= policy_.levels.size(); }
  void describe(const WorkflowState& st, json& view) const override;
  json view(const WorkflowState& st) const override;

 private:
  bool has_approved(std::size_t level, const std::string& reviewer) const;
  // Whether `reviewer` is listed at `level` (an empty list admits anyone;
  // second-line reviewers decide any level once the gate has escalated).
  bool reviewer_of(const WorkflowState& st, std::size_t level, const std::string& reviewer) const;
  // The level a journaled decision decided: stamped by judge(); records
  // from before approval chains decide the current level.
  std::size_t level_of(const json& payload) const;
  json levels_json() const;

  // Constant after construction (a pure function of the input).
  const ApprovalPolicy policy_;
  const std::vector<std::string> second_line_;

  int round_ = 1;
  std::vector<std::vector<std::string>> approvers_;  // this round's, per level
  std::size_t current_level_ = 0;  // the first level short of its quorum
};

bool ApprovalChain::has_approved(std::size_t level, const std::string& reviewer) const {
  if (level >= approvers_.size()) return false;
  const auto& who = approvers_[level];
  return std::find(who.begin(), who.end(), reviewer) != who.end();
}

bool ApprovalChain::reviewer_of(const WorkflowState& st, std::size_t level,
                                const std::string& reviewer) const {
  if (level >= policy_.levels.size()) return false;
  const auto& listed = policy_.levels[level].reviewers;
  if (listed.empty() || std::find(listed.begin(), listed.end(), reviewer) != listed.end())
    return true;
  if (st.escalated_ms() == 0) return false;
  return std::find(second_line_.begin(), second_line_.end(), reviewer) != second_line_.end();
}

SignalResult ApprovalChain::judge(const WorkflowState& st, bool approve, json& payload) const {
  const std::string& id = st.workflow_id();
  const std::size_t level = current_level_;
  const std::string& level_name = policy_.levels[level].name;
  const std::string reviewer = payload.value("reviewer", "");
  if (!reviewer_of(st, level, reviewer)) {
    for (std::size_t other = 0; other < policy_.levels.size(); ++other)
      if (other != level && reviewer_of(st, other, reviewer))
        return {SignalCode::forbidden, "reviewer '" + reviewer + "' decides at level '" +
                                           policy_.levels[other].name + "'; workflow " + id +
                                           " waits for level '" + level_name + "'"};
    return {SignalCode::forbidden,
            "reviewer '" + reviewer + "' is not a reviewer of workflow " + id};
  }
  if (approve && !policy_.allow_self_approval && !policy_.submitter.empty() &&
      reviewer == policy_.submitter)
    return {SignalCode::forbidden,
            "reviewer '" + reviewer + "' submitted workflow " + id + " and may not approve it"};
  if (approve && has_approved(level, reviewer))
    return {SignalCode::conflict, "reviewer '" + reviewer + "' has already approved level '" +
                                      level_name + "' of workflow " + id};
  payload["level"] = level_name;
  return {SignalCode::accepted, ""};
}

std::size_t ApprovalChain::level_of(const json& payload) const {
  const std::string name = payload.value("level", "");
  for (std::size_t l = 0; l < policy_.levels.size(); ++l)
    if (policy_.levels[l].name == name) return l;
  return current_level_;
}

std::string ApprovalChain::count(bool approve, const json& payload, AuditEntry& entry) {
  const std::size_t level = level_of(payload);
  const std::string reviewer = payload.value("reviewer", "");
  if (payload.contains("reviewer") && payload["reviewer"].is_string()) entry.actor = reviewer;
  entry.comment = payload.value(approve ? "comment" : "reason", "");
  entry.round = round_;
  if (level < policy_.levels.size()) entry.level = policy_.levels[level].name;
  if (!approve)
    return "rejected by " + payload.value("reviewer", "unknown") + ": " +
           payload.value("reason", "");
  if (level < approvers_.size() && !has_approved(level, reviewer))
    approvers_[level].push_back(reviewer);
  while (current_level_ < policy_.levels.size() &&
         static_cast<int>(approvers_[current_level_].size()) >=
             policy_.levels[current_level_].quorum)
    ++current_level_;
  return "";
}

void ApprovalChain::withdraw() {
  bool any = false;
  for (auto& who : approvers_) {
    any |= !who.empty();
    who.clear();
  }
  if (any) ++round_;
  current_level_ = 0;
}

json ApprovalChain::levels_json() const {
  json levels = json::array();
  for (std::size_t l = 0; l < policy_.levels.size(); ++l) {
    const ApprovalLevel& level = policy_.levels[l];
    const std::size_t got = approvers_[l].size();
    levels.push_back({{"name", level.name},
                      {"reviewers", level.reviewers},
                      {"quorum", level.quorum},
                      {"approved_by", approvers_[l]},
                      {"status", got >= static_cast<std::size_t>(level.quorum) ? "approved"
                                 : l == current_level_                          ? "pending"
                                                                                : "waiting"}});
  }
  return levels;
}

void ApprovalChain::describe(const WorkflowState& st, json& view) const {
  json approvals = json::array();
  for (const AuditEntry& a : st.audit()) {
    if (a.action != "approved" && a.action != "rejected") continue;
    json entry = {{"decision", a.action},
                  {"reviewer", a.actor},
                  {"level", a.level},
                  {"round", a.round},
                  {"at", engine::format_time(a.at_ms)}};
    entry[a.action == "approved" ? "comment" : "reason"] = a.comment;
    approvals.push_back(std::move(entry));
  }
  view["approvals"] = std::move(approvals);
  view["approval_chain"] = levels_json();
}

json ApprovalChain::view(const WorkflowState& st) const {
  json trail = json::array();
  for (const AuditEntry& a : st.audit()) {
    json e = {{"action", a.action},
              {"actor", a.actor},
              {"at", engine::format_time(a.at_ms)},
              {"seq", a.seq}};
    if (!a.role.empty()) e["role"] = a.role;
    if (!a.token.empty()) e["token_id"] = a.token;
    if (!a.level.empty()) e["level"] = a.level;
    if (a.round) e["round"] = a.round;
    if (!a.comment.empty()) e[a.action == "approved" ? "comment" : "reason"] = a.comment;
    if (!a.detail.empty()) e["content_id"] = a.detail;
    trail.push_back(std::move(e));
  }
  json out = {{"workflow_id", st.workflow_id()},
              {"status", engine::to_string(st.status())},
              {"current_phase", st.current_phase_name()},
              {"round", round_},
              {"submitted_by", policy_.submitter},
              {"allow_self_approval", policy_.allow_self_approval},
              {"levels", levels_json()},
              {"approved", passed()},
              {"audit", std::move(trail)}};
  if (current_level_ < policy_.levels.size())
    out["current_level"] = policy_.levels[current_level_].name;
  if (!st.patches().empty()) out["patches"] = st.patches();
  return out;
}

}  // namespace

std::unique_ptr<engine::GateTally> ApprovalChainRules::open(const json& input) const {
  std::vector<std::string> second_line;
  if (!escalation_reviewers_pointer_.empty()) {
    json::json_pointer ptr(escalation_reviewers_pointer_);
    if (input.contains(ptr) && input.at(ptr).is_array())
      for (const json& r : input.at(ptr))
        if (r.is_string()) second_line.push_back(r.get<std::string>());
  }
  return std::make_unique<ApprovalChain>(campaign_approval_policy(input), std::move(second_line));
}

}  // namespace orch::phases
