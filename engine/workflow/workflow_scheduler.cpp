// What a workflow does next: advance() folds decisions until none is left,
// commits them, then starts what they scheduled; decide() is one pass over
// the state (unwind, wait for a start time, run the current phase's steps,
// watch the gate's deadline).
#include "engine/workflow/workflow_run.h"

#include <algorithm>
#include <cstdio>

#include "observability/metrics.h"

namespace orch::engine {

using nlohmann::json;

namespace {
constexpr int kMaxDecideRounds = 16;
}  // namespace

// What the passes of decide() ask advance() to do once their records are
// durable, and when to look at the workflow again.
struct WorkflowEngine::Decisions {
  std::set<std::size_t> run_steps;
  bool run_compensation = false;
  TimeMs wake = 0;  // the earliest deadline noted by the last pass (0 = none)
  void wake_at(TimeMs t) {
    if (!wake || t < wake) wake = t;
  }
};

void WorkflowEngine::advance(const WorkflowPtr& wfp) {
  Workflow& wf = *wfp;
  if (is_terminal(wf.state->status()) || wf.stalled) return;
  // Outbox records are already folded into the state: last_seq() counts them.
  if (wf.state->last_seq() >= limits_.max_records_per_workflow) {
    wf.stalled = true;
    std::fprintf(stderr,
                 "{\"level\":\"error\",\"message\":\"workflow stalled at its journal cap\","
                 "\"workflow_id\":%s,\"limit\":%llu}\n",
                 json(wf.state->workflow_id()).dump().c_str(),
                 static_cast<unsigned long long>(limits_.max_records_per_workflow));
    if (!wf.outbox.empty()) commit(wfp, [] {});
    return;
  }
  if (wf.state->last_seq() >= limits_.unwind_threshold() &&
      wf.state->unwind_reason() == UnwindReason::none)
    emit(wf, RecordType::history_limit_reached, {{"limit", limits_.max_records_per_workflow}});
  Decisions next;
  const TimeMs now = clock_.now_ms();
  for (int round = 0; round < kMaxDecideRounds &&
                     wf.state->last_seq() < limits_.max_records_per_workflow;
       ++round) {
    const std::size_t before = wf.outbox.size();
    const bool comp_before = next.run_compensation;
    const std::size_t steps_before = next.run_steps.size();
    next.wake = 0;
    decide(wf, now, next);
    if (wf.outbox.size() == before && comp_before == next.run_compensation &&
        steps_before == next.run_steps.size())
      break;
    if (is_terminal(wf.state->status())) break;
  }
  if (next.wake) timers_.arm(wf.state->workflow_id(), next.wake);
  wf.wake_ms = next.wake;
  auto act = [this, wfp, run_steps = std::move(next.run_steps),
              run_compensation = next.run_compensation] {
    for (std::size_t i : run_steps) execute_step(wfp, i);
    if (run_compensation) execute_compensation(wfp);
    if (is_terminal(wfp->state->status())) on_finished(wfp);
  };
  if (!wf.outbox.empty())
    commit(wfp, std::move(act));
  else
    act();
  note_idle(wf);
}

void WorkflowEngine::decide(Workflow& wf, TimeMs now, Decisions& next) {
  const WorkflowState& st = *wf.state;
  if (st.unwind_reason() != UnwindReason::none) return decide_unwinding(wf, now, next);
  if (now < st.not_before_ms()) return next.wake_at(st.not_before_ms());  // schedule_time
  if (st.status() == WorkflowStatus::paused) return;  // until an operator redrives it
  const std::size_t p = st.current_phase();
  if (p >= st.definition().phases.size()) {
    emit(wf, RecordType::workflow_finished, {{"status", "completed"}});
    return;
  }
  schedule_phase(wf, p, now, next);
  watch_gate(wf, p, now, next);
}

void WorkflowEngine::decide_unwinding(Workflow& wf, TimeMs now, Decisions& next) {
  // Let every step that may have acted finish first, so its side effect is
  // known and, if it completed, compensated too. A step scheduled before a
  // crash runs once more (same idempotency key) to learn its outcome.
  // A step refused by an open breaker waits for its service here too: its
  // real outcome (perhaps a side effect from before a crash) must be known.
  const WorkflowState& st = *wf.state;
  bool busy = false;
  for (std::size_t i = 0; i < st.step_count(); ++i) {
    if (st.step(i).status != StepStatus::scheduled) continue;
    busy = true;
    rerun_scheduled(wf, i, now, next);
  }
  if (busy || wf.compensation_in_flight) return;
  const compensation::Compensation* c = st.compensations().next();
  if (!c) {
    const WorkflowStatus final_status = st.unwind_reason() == UnwindReason::cancelled
                                            ? WorkflowStatus::cancelled
                                            : WorkflowStatus::failed;
    emit(wf, RecordType::workflow_finished,
         {{"status", to_string(final_status)}, {"reason", st.failure_reason()}});
    return;
  }
  schedule_compensation(wf, *c, now, next);
}

void WorkflowEngine::schedule_compensation(Workflow& wf, const compensation::Compensation& c,
                                           TimeMs now, Decisions& next) {
  switch (c.status) {
    case compensation::CompensationStatus::pending:
      emit(wf, RecordType::compensation_scheduled, step_payload(c.step_id, 1));
      wf.compensation_in_flight = next.run_compensation = true;
      break;
    case compensation::CompensationStatus::running:  // recovered, or parked
      if (now < wf.compensation_parked_until) {
        next.wake_at(wf.compensation_parked_until);
      } else {
        wf.compensation_parked_until = 0;
        wf.compensation_in_flight = next.run_compensation = true;
      }
      break;
    case compensation::CompensationStatus::retry_wait:
      if (now >= c.retry_at_ms) {
        emit(wf, RecordType::compensation_scheduled, step_payload(c.step_id, c.attempts + 1));
        wf.compensation_in_flight = next.run_compensation = true;
      } else {
        next.wake_at(c.retry_at_ms);
      }
      break;
    case compensation::CompensationStatus::completed:
      break;
  }
}

void WorkflowEngine::schedule_phase(Workflow& wf, std::size_t phase, TimeMs now,
                                    Decisions& next) {
  const WorkflowState& st = *wf.state;
  const bool sequential = st.definition().phases[phase].mode == PhaseMode::sequential;
  auto [begin, end] = st.plan().phase_ranges[phase];
  for (std::size_t i = begin; i < end; ++i) {
    if (st.step(i).status == StepStatus::completed) continue;
    schedule_step(wf, i, now, next);
    if (sequential) break;
  }
}

void WorkflowEngine::schedule_step(Workflow& wf, std::size_t i, TimeMs now, Decisions& next) {
  const StepState& s = wf.state->step(i);
  const std::string& id = wf.state->plan().steps[i].id;
  switch (s.status) {
    case StepStatus::pending:
      emit(wf, RecordType::step_scheduled, step_payload(id, 1));
      wf.in_flight.insert(i);
      next.run_steps.insert(i);
      break;
    case StepStatus::scheduled:
      rerun_scheduled(wf, i, now, next);
      break;
    case StepStatus::retry_wait:
      if (now >= s.retry_at_ms) {
        emit(wf, RecordType::step_scheduled, step_payload(id, s.attempts + 1));
        wf.in_flight.insert(i);
        next.run_steps.insert(i);
      } else {
        next.wake_at(s.retry_at_ms);
      }
      break;
    case StepStatus::completed:
    case StepStatus::failed:
      break;
  }
}

void WorkflowEngine::rerun_scheduled(Workflow& wf, std::size_t i, TimeMs now, Decisions& next) {
  if (wf.in_flight.count(i)) return;
  if (auto parked = wf.parked.find(i); parked != wf.parked.end()) {
    if (now < parked->second) {  // waiting for its service
      next.wake_at(parked->second);
      return;
    }
    if (metrics_)
      metrics_->step_waiting_for_service(wf.state->plan().steps[i].definition->activity, -1);
    wf.parked.erase(parked);
  }
  wf.in_flight.insert(i);  // parked, or scheduled before a restart
  next.run_steps.insert(i);
}

void WorkflowEngine::watch_gate(Workflow& wf, std::size_t phase, TimeMs now, Decisions& next) {
  const WorkflowState& st = *wf.state;
  const auto& gate = st.definition().phases[phase].gate;
  if (!gate || !st.phase_steps_done(phase) || st.gate_approved()) return;
  const TimeMs deadline = st.approval_deadline_ms();
  if (!deadline) return;
  if (now < deadline) return next.wake_at(deadline);
  const json* second_line = nullptr;
  if (!gate->escalation_reviewers_pointer.empty()) {
    json::json_pointer ptr(gate->escalation_reviewers_pointer);
    if (st.input().contains(ptr) && st.input().at(ptr).is_array() && !st.input().at(ptr).empty())
      second_line = &st.input().at(ptr);
  }
  if (second_line && !st.escalated_ms())
    emit(wf, RecordType::approval_escalated, {{"deadline", deadline}, {"reviewers", *second_line}});
  else
    emit(wf, RecordType::approval_timed_out, {{"deadline", deadline}});
}

}  // namespace orch::engine
