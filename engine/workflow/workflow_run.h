// A workflow in memory as the engine's units see it: its state, what is in
// flight, and what was last written to its summary row; with the small
// helpers the units share. Private to engine/workflow/workflow_*.cpp.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/json/json_object.h"
#include "engine/workflow/workflow_engine.h"

namespace orch::engine {

inline constexpr std::size_t kNpos = static_cast<std::size_t>(-1);

struct WorkflowEngine::Workflow {
  std::unique_ptr<WorkflowState> state;
  std::vector<JournalRecord> outbox;  // created, folded in, not yet committed
  std::set<std::size_t> in_flight;    // steps whose activity runs or is about to
  bool compensation_in_flight = false;
  std::string journaled_status;       // as last written to the summary row
  std::string journaled_phase;
  bool finish_handled = false;
  bool stalled = false;               // hit the record cap; reported, not driven
  // Steps and the compensation waiting for an unavailable service: when they
  // may try again. Deliberately not journaled (a parked step stays
  // "scheduled" in the journal; after a restart it simply tries again), so a
  // long outage costs no journal growth.
  std::map<std::size_t, TimeMs> parked;
  TimeMs compensation_parked_until = 0;
  // Steps scheduled before a restart whose attempt may have reached the
  // service: until one answers, an unwinding saga must wait for them.
  std::set<std::size_t> outcome_unknown;
  TimeMs wake_ms = 0;         // when advance() asked to be woken (0 = not)
  TimeMs journaled_wake = -1; // as last written to the summary row
  bool idle_noted = false;    // queued in idle_ for passivation
  std::string input_hash;     // of the input, for the summary row ("" = not yet)
};

// {"step": id, "attempt": n}, the payload most records start from.
inline nlohmann::json step_payload(const std::string& step, int attempt) {
  return json_object("step", step, "attempt", attempt);
}
inline nlohmann::json step_payload(const std::string& step, int attempt, nlohmann::json output) {
  return json_object("step", step, "attempt", attempt, "output", std::move(output));
}

// Statuses in which a workflow waits for a human (a decision, a resume or a
// redrive) and may wait on disk. Only its approval deadline wakes it by itself.
const std::vector<std::string>& waiting_statuses();
bool waits_for_human(WorkflowStatus status);
bool waits_for_human(const std::string& status);

// Stops the process: the journal cannot be written (see workflow_engine.cpp).
[[noreturn]] void fatal(const std::string& what);

// A new workflow's row is copied (or moved, at recovery); a later row only
// updates what changes, without copying its identity strings.
template <class Summary>
void WorkflowEngine::remember_summary(Summary&& summary) {
  auto it = summary_index_.find(summary.workflow_id);
  if (it == summary_index_.end()) {
    summary_index_.emplace(summary.workflow_id, summaries_.size());
    if (!summary.idempotency_key.empty())
      by_idempotency_key_.emplace(summary.idempotency_key, summary.workflow_id);
    summaries_.push_back(std::forward<Summary>(summary));
  } else {
    summaries_[it->second].update_from(summary);
  }
}

}  // namespace orch::engine
