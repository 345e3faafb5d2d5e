// Validation of a CampaignInput (CONTRACT.md). Strict: unknown fields, wrong
// types and empty strings are errors, so bad input changes nothing.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace orch::phases {

struct FieldError {
  std::string field;    // JSON pointer-ish name, e.g. "channels[2]"
  std::string message;
};

// Returns every problem found (empty = valid).
std::vector<FieldError> validate_campaign_input(const nlohmann::json& input);

// A valid CampaignInput with one competitor URL and the channels email,
// social and blog (15 forward side effects): the demo's, the benchmark's and
// the tests' standard input.
nlohmann::json sample_campaign_input(const std::string& campaign_name,
                                     const std::vector<std::string>& reviewers);

// Workflow ids: 1-128 of [A-Za-z0-9._-], starting alphanumeric (no ':' so
// idempotency keys "{workflow_id}:{step}" stay unambiguous).
bool valid_workflow_id(const std::string& id);

// A workflow id for a new campaign: "campaign-{slug of name}-{suffix}".
std::string campaign_workflow_id(const std::string& campaign_name, const std::string& suffix);

}  // namespace orch::phases
