// The marketing campaign as a workflow definition: six phases with the steps,
// modes, retries, timeouts and compensations of CONTRACT.md.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "engine/workflow_definition.h"

namespace orch::phases {

inline constexpr const char* kCampaignWorkflow = "marketing_campaign";

struct CampaignTuning {
  // First retry delay of every step (exponential, coefficient 2). Tests and
  // the benchmark shorten it; production keeps the default.
  std::chrono::milliseconds retry_initial_interval{1'000};
  std::chrono::milliseconds retry_max_interval{60'000};
  std::chrono::milliseconds approval_timeout{72LL * 3600 * 1000};
};

// The content pieces the language model writes and update_content may replace.
const std::vector<std::string>& content_piece_names();

engine::WorkflowDefinition campaign_definition(const CampaignTuning& tuning = {});

}  // namespace orch::phases
