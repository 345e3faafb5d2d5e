// The review gate's rules for the campaign: an approval chain of levels
// decided in order, each by a quorum of its reviewers (approval_policy.h),
// self-approval allowed or not, second-line reviewers once the gate has
// escalated, and a content edit withdrawing the approvals given so far (a
// new round). With the chain's views: its part of GET /v1/workflows/{id}
// ("approvals", "approval_chain") and GET /v1/workflows/{id}/approvals.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/workflow/human_gate.h"

namespace orch::phases {

class ApprovalChainRules final : public engine::GateRules {
 public:
  // `escalation_reviewers_pointer`: the input array of second-line
  // reviewers, who may decide any level once the gate has escalated (the
  // gate's own pointer, see engine::GateDefinition).
  explicit ApprovalChainRules(std::string escalation_reviewers_pointer)
      : escalation_reviewers_pointer_(std::move(escalation_reviewers_pointer)) {}

  std::unique_ptr<engine::GateTally> open(const nlohmann::json& input) const override;

 private:
  const std::string escalation_reviewers_pointer_;
};

}  // namespace orch::phases
