// The campaign's approval chain, from its input:
//
//   "approval_policy": {
//     "levels": [{"name": "marketing", "reviewers": ["mia", "max", "moe"], "quorum": 2},
//                {"name": "legal", "reviewers": ["lea"], "quorum": 1}],
//     "forbid_self_approval": true,
//     "large_audience": {"threshold": 100000,
//                        "level": {"name": "executive", "reviewers": ["eve"], "quorum": 1}}
//   },
//   "audience_size": 250000,
//   "submitted_by": "sam"
//
// Without approval_policy the chain is one level, quorum 1, of `reviewers`,
// and self-approval is allowed unless forbid_self_approval is true. With
// it, `reviewers` is who is notified in Slack; the levels decide. The extra
// level is appended when audience_size is above the threshold.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "phases/campaign/campaign_input.h"

namespace orch::phases {

// One level of an approval chain: `quorum` distinct reviewers from
// `reviewers` must approve before the next level may decide.
struct ApprovalLevel {
  std::string name;
  std::vector<std::string> reviewers;
  int quorum = 1;
};

// Who must approve, in order. Levels are decided one after the other; a
// reject at the current level unwinds the saga.
struct ApprovalPolicy {
  std::vector<ApprovalLevel> levels;
  std::string submitter;             // who started the workflow ("" = unknown)
  bool allow_self_approval = true;   // false: the submitter may not approve
};

// A pure function of the input (evaluated again on every replay).
ApprovalPolicy campaign_approval_policy(const nlohmann::json& input);

// Appends the problems of approval_policy, audience_size and submitted_by.
void validate_approval_fields(const nlohmann::json& input, std::vector<FieldError>* errors);

}  // namespace orch::phases
