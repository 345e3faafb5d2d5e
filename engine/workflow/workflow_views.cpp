// The state's JSON views: the workflow as GET /v1/workflows/{id} shows it
// (with the gate's tally as its kind renders it) and its progress.
#include "engine/workflow/workflow_state.h"

#include <algorithm>

#include "engine/time/time_format.h"

namespace orch::engine {

using nlohmann::json;

int WorkflowState::progress_percentage() const {
  if (status_ == WorkflowStatus::completed) return 100;
  const auto& phases = definition_->phases;
  if (phases.empty()) return 0;
  double passed = static_cast<double>(std::min(current_phase_, phases.size()));
  if (current_phase_ < phases.size()) {
    auto [b, e] = plan_.phase_ranges[current_phase_];
    double units = static_cast<double>(e - b) + (phases[current_phase_].gate ? 1 : 0);
    double done = 0;
    for (std::size_t i = b; i < e; ++i)
      if (steps_[i].status == StepStatus::completed) done += 1;
    if (units > 0) passed += done / units;
  }
  return std::min(99, static_cast<int>(100.0 * passed / static_cast<double>(phases.size())));
}

json WorkflowState::to_json() const {
  json out;
  out["workflow_id"] = workflow_id_;
  out["run_id"] = run_id_;
  out["trace_id"] = trace_id_;
  out["workflow"] = definition_->name;
  out["status"] = to_string(status_);
  out["current_phase"] = current_phase_name();
  out["progress_percentage"] = progress_percentage();
  out["created_at"] = format_time(created_ms_);
  out["updated_at"] = format_time(updated_ms_);
  if (finished_ms_) {
    out["finished_at"] = format_time(finished_ms_);
    out["duration_seconds"] = static_cast<double>(finished_ms_ - created_ms_) / 1000.0;
  }
  out["input"] = input_;
  json phases = json::array();
  for (std::size_t p = 0; p < definition_->phases.size(); ++p) {
    const auto& pd = definition_->phases[p];
    auto [b, e] = plan_.phase_ranges[p];
    json phase = {{"name", pd.name},
                  {"mode", pd.mode == PhaseMode::parallel ? "parallel" : "sequential"}};
    TimeMs started = 0, finished = 0;
    bool any_failed = false, all_done = true, any_started = false;
    json steps = json::array();
    for (std::size_t i = b; i < e; ++i) {
      const StepState& s = steps_[i];
      json step = {{"id", plan_.steps[i].id},
                   {"activity", plan_.steps[i].definition->activity},
                   {"status", to_string(s.status)},
                   {"attempts", s.attempts}};
      if (s.first_scheduled_ms) {
        step["started_at"] = format_time(s.first_scheduled_ms);
        any_started = true;
        if (!started || s.first_scheduled_ms < started) started = s.first_scheduled_ms;
      }
      if (s.finished_ms) {
        step["finished_at"] = format_time(s.finished_ms);
        step["duration_ms"] = s.finished_ms - s.first_scheduled_ms;
        finished = std::max(finished, s.finished_ms);
      }
      if (s.status == StepStatus::completed) step["output"] = outputs_.at(plan_.steps[i].id);
      if (!s.last_error.empty()) step["last_error"] = s.last_error;
      if (s.retry_at_ms) step["retry_at"] = format_time(s.retry_at_ms);
      if (!plan_.steps[i].definition->compensation.empty())
        step["compensation"] = plan_.steps[i].definition->compensation;
      any_failed |= s.status == StepStatus::failed;
      all_done &= s.status == StepStatus::completed;
      steps.push_back(std::move(step));
    }
    std::string status;
    if (any_failed) status = "failed";
    else if (p < current_phase_) status = "completed";
    else if (p == current_phase_ && status_ == WorkflowStatus::awaiting_approval) status = "awaiting_approval";
    else if (any_started && !all_done) status = "running";
    else if (all_done && any_started) status = pd.gate ? "awaiting_approval" : "completed";
    else status = "pending";
    if (p == current_phase_ && status_ == WorkflowStatus::running && any_started && !all_done)
      status = "running";
    phase["status"] = status;
    if (started) phase["started_at"] = format_time(started);
    if (p < current_phase_ && finished) phase["completed_at"] = format_time(finished);
    phase["steps"] = std::move(steps);
    phases.push_back(std::move(phase));
  }
  out["phases"] = std::move(phases);
  if (TimeMs d = approval_deadline_ms(); d && status_ == WorkflowStatus::awaiting_approval)
    out["approval_deadline"] = format_time(d);
  if (escalated_ms_) out["escalated_at"] = format_time(escalated_ms_);
  if (not_before_ms_) out["scheduled_for"] = format_time(not_before_ms_);
  if (!patches_.empty()) out["patches"] = patches_;
  if (paused_step_ != static_cast<std::size_t>(-1)) {
    out["paused_step"] = plan_.steps[paused_step_].id;
    out["pause_reason"] = pause_reason_;
  } else if (held_) {
    out["pause_reason"] = hold_reason_;
  }
  if (tally_) tally_->describe(*this, out);
  if (unwind_reason_ != UnwindReason::none) out["unwind_reason"] = to_string(unwind_reason_);
  if (!failure_reason_.empty()) out["reason"] = failure_reason_;
  out["compensations"] = compensations_.to_json();
  add_view_fields(out);
  return out;
}

void WorkflowState::add_view_fields(json& view) const {
  if (!definition_->view_fields) return;
  json fields = definition_->view_fields(input_, outputs_);
  for (auto& [key, value] : fields.items()) view[key] = std::move(value);
}

json WorkflowState::gate_view() const {
  if (tally_) return tally_->view(*this);
  // Without a gate, the audit trail alone.
  json trail = json::array();
  for (const AuditEntry& a : audit_)
    trail.push_back({{"action", a.action}, {"actor", a.actor}, {"at", format_time(a.at_ms)},
                     {"seq", a.seq}});
  return {{"workflow_id", workflow_id_},
          {"status", to_string(status_)},
          {"current_phase", current_phase_name()},
          {"audit", std::move(trail)}};
}

}  // namespace orch::engine
