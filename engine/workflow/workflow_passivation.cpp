// Passivation: a workflow waiting for a human leaves memory once idle
// (EngineLimits::passivate_after_ms) and is read back from the journal when
// a command or its deadline needs it.
#include "engine/workflow/workflow_run.h"

#include <algorithm>

#include "observability/metrics.h"

namespace orch::engine {

using nlohmann::json;

void WorkflowEngine::note_idle(Workflow& wf) {
  if (limits_.passivate_after_ms < 0 || wf.idle_noted || !waits_for_human(wf.state->status()))
    return;
  wf.idle_noted = true;
  const TimeMs now = clock_.now_ms();
  idle_.emplace_back(now, wf.state->workflow_id());
  if (idle_.size() == 1) passivation_timer_.arm("idle", now + limits_.passivate_after_ms);
}

bool WorkflowEngine::passivable(const WorkflowPtr& wfp) const {
  const Workflow& wf = *wfp;
  // Held only by active_: no commit, activity, compensation or callback is
  // pending, so everything it did is durable and nothing will touch it.
  return wfp.use_count() == 1 && waits_for_human(wf.state->status()) && wf.outbox.empty() &&
         wf.in_flight.empty() && !wf.compensation_in_flight && wf.parked.empty() &&
         !wf.compensation_parked_until && wf.outcome_unknown.empty() && !wf.stalled &&
         !wf.finish_handled;
}

void WorkflowEngine::passivate_idle() {
  const TimeMs now = clock_.now_ms();
  const TimeMs after = limits_.passivate_after_ms;
  // Entries put back below are not looked at again in this pass.
  for (std::size_t n = idle_.size(); n > 0 && !idle_.empty() && idle_.front().first + after <= now;
       --n) {
    std::string id = std::move(idle_.front().second);
    idle_.pop_front();
    auto it = active_.find(id);
    if (it == active_.end()) continue;
    Workflow& wf = *it->second;
    wf.idle_noted = false;
    if (!waits_for_human(wf.state->status())) continue;  // moved on
    const TimeMs last = std::max(wf.state->updated_ms(), now - after);
    if (last + after > now || !passivable(it->second)) {  // busy again: look later
      wf.idle_noted = true;
      idle_.emplace_back(last + after > now ? last : now, std::move(id));
      continue;
    }
    // Its timer (an approval deadline) stays armed: on_timer reads it back.
    active_.erase(it);
    passive_.insert(std::move(id));
    if (metrics_) metrics_->workflow_passivated();
  }
  if (metrics_) metrics_->workflows_resident(active_.size());
  if (!idle_.empty())
    passivation_timer_.arm("idle", std::max(idle_.front().first + after, now + 1));
}

WorkflowEngine::WorkflowPtr WorkflowEngine::resident(const std::string& workflow_id,
                                                     std::string* error) {
  if (auto it = active_.find(workflow_id); it != active_.end()) return it->second;
  if (const std::string* why = damage(workflow_id)) {
    *error = *why;
    return nullptr;
  }
  auto p = passive_.find(workflow_id);
  if (p == passive_.end()) return nullptr;
  auto state = read_back(workflow_id, error);
  if (!state) return nullptr;
  WorkflowPtr wf = resume(std::move(state));
  passive_.erase(p);
  active_.emplace(workflow_id, wf);
  if (metrics_) {
    metrics_->workflow_read_back();
    metrics_->workflows_resident(active_.size());
  }
  return wf;
}

WorkflowEngine::WorkflowPtr WorkflowEngine::resume(std::unique_ptr<WorkflowState> state) const {
  auto wf = std::make_shared<Workflow>();
  wf->state = std::move(state);
  const WorkflowSummary& row = summaries_[summary_index_.at(wf->state->workflow_id())];
  wf->journaled_status = row.status;
  wf->journaled_phase = row.phase;
  wf->journaled_wake = row.wake_ms;
  for (std::size_t i = 0; i < wf->state->step_count(); ++i)
    if (wf->state->step(i).status == StepStatus::scheduled) wf->outcome_unknown.insert(i);
  return wf;
}

}  // namespace orch::engine
