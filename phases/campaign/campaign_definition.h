// The marketing campaign as a workflow definition: six phases with the steps,
// modes, retries, timeouts and compensations of CONTRACT.md.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "engine/workflow/workflow_definition.h"

namespace orch::phases {

inline constexpr const char* kCampaignWorkflow = "marketing_campaign";

struct CampaignTuning {
  // First retry delay of every step (exponential, coefficient 2). Tests and
  // the benchmark shorten it; production keeps the default.
  std::chrono::milliseconds retry_initial_interval{1'000};
  std::chrono::milliseconds retry_max_interval{60'000};
  std::chrono::milliseconds approval_timeout{72LL * 3600 * 1000};
  // Retry delays are drawn with full jitter (tests that assert exact
  // deadlines turn it off).
  bool retry_full_jitter = true;
  // How long a step may wait for an unavailable service before it fails.
  std::chrono::milliseconds schedule_to_close{30LL * 60 * 1000};
  // Steps that pause the workflow instead of unwinding when exhausted, by
  // step id prefix (e.g. "distribution." to keep what was approved and let an
  // operator redrive after fixing the channel).
  std::vector<std::string> pause_on_exhausted;
  // Applied to every step's retry policy.
  std::vector<int> non_retryable_statuses;
  std::vector<std::string> non_retryable_errors;
};

// The content pieces the language model writes and update_content may replace.
const std::vector<std::string>& content_piece_names();

engine::WorkflowDefinition campaign_definition(const CampaignTuning& tuning = {});

}  // namespace orch::phases
