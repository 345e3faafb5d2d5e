// The sandbox state's own upkeep: emptying it (POST /sandbox/reset) and
// sizing its ledger tables.
#include "adapters/sandbox/sandbox_state.h"

namespace orch::sandbox {

void Sandbox::State::clear() {
  ledger.clear();
  by_key.clear();
  by_workflow.clear();
  effects = compensations = replays = faults_injected = workflows = 0;
  faults.clear();
  next_fault_id = 1;
  id_counter = 0;
  memories.clear();
  figma_assets.clear();
  github_pr_numbers.clear();
  github_files.clear();
  sendgrid_batches.clear();
  sendgrid_messages.clear();
  sendgrid_message_order.clear();
  buffer_updates.clear();
  dashboards.clear();
  dashboard_ids = 0;
  twilio_messages.clear();
  fcm_messages.clear();
  twilio_opt_outs.clear();
  credits.clear();
  credits_by_customer.clear();
  credit_totals = {};
  reserve();
}

void Sandbox::State::reserve() {
  by_key.reserve(1 << 16);
  by_workflow.reserve(256);
}

}  // namespace orch::sandbox
