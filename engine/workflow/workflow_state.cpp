// Building a workflow's state from its first record, and what it answers
// about itself (phases, steps, the gate). Folding the later records in is
// workflow_fold.cpp; the JSON views are workflow_views.cpp.
#include "engine/workflow/workflow_state.h"

#include <algorithm>

#include "engine/json/json_read.h"
#include "engine/time/time_format.h"

namespace orch::engine {

using nlohmann::json;

const char* to_string(WorkflowStatus status) {
  switch (status) {
    case WorkflowStatus::running: return "running";
    case WorkflowStatus::awaiting_approval: return "awaiting_approval";
    case WorkflowStatus::paused: return "paused";
    case WorkflowStatus::compensating: return "compensating";
    case WorkflowStatus::completed: return "completed";
    case WorkflowStatus::failed: return "failed";
    case WorkflowStatus::cancelled: return "cancelled";
  }
  return "unknown";
}

bool is_terminal(WorkflowStatus status) {
  return status == WorkflowStatus::completed || status == WorkflowStatus::failed ||
         status == WorkflowStatus::cancelled;
}

const char* to_string(StepStatus status) {
  switch (status) {
    case StepStatus::pending: return "pending";
    case StepStatus::scheduled: return "running";
    case StepStatus::retry_wait: return "retry_wait";
    case StepStatus::completed: return "completed";
    case StepStatus::failed: return "failed";
  }
  return "unknown";
}

const char* to_string(UnwindReason reason) {
  switch (reason) {
    case UnwindReason::none: return "none";
    case UnwindReason::step_failed: return "step_failed";
    case UnwindReason::rejected: return "rejected";
    case UnwindReason::cancelled: return "cancelled";
    case UnwindReason::approval_timeout: return "approval_timeout";
    case UnwindReason::history_limit: return "history_limit";
  }
  return "unknown";
}

std::unique_ptr<WorkflowState> WorkflowState::start(const JournalRecord& started,
                                                    const WorkflowDefinition& definition,
                                                    std::string* error) {
  json p;
  if (!parse_json(started.payload, p)) {
    *error = "workflow " + started.workflow_id + ": bad workflow_started record: not JSON";
    return nullptr;
  }
  return start(started, std::move(p), definition, error);
}

std::unique_ptr<WorkflowState> WorkflowState::start(const JournalRecord& started, json p,
                                                    const WorkflowDefinition& definition,
                                                    std::string* error) {
  if (started.type != RecordType::workflow_started || started.seq != 1) {
    *error = "workflow " + started.workflow_id + " does not begin with workflow_started";
    return nullptr;
  }
  std::unique_ptr<WorkflowState> s(new WorkflowState());
  json p_started;
  try {
    if (p.contains("actor")) p_started["actor"] = p["actor"];
    s->definition_ = &definition;
    s->workflow_id_ = started.workflow_id;
    s->run_id_ = p.at("run_id").get<std::string>();
    s->idempotency_key_ = p.value("idempotency_key", "");
    s->trace_id_ = p.value("trace_id", "");
    s->trace_parent_ = p.value("trace_parent", "");
    s->span_seed_ = observability::SpanIdSeed(s->trace_id_, {s->workflow_id_, "/"});
    s->input_ = std::move(p.at("input"));
  } catch (const json::exception& e) {
    *error = "workflow " + started.workflow_id + ": bad workflow_started record: " + e.what();
    return nullptr;
  }
  s->plan_ = expand_plan(definition, s->input_);
  if (!definition.start_at_input_field.empty() &&
      s->input_.contains(definition.start_at_input_field) &&
      s->input_[definition.start_at_input_field].is_string()) {
    if (auto t = parse_time(s->input_[definition.start_at_input_field].get<std::string>()))
      s->not_before_ms_ = *t;
  }
  s->steps_.resize(s->plan_.steps.size());
  for (std::size_t i = 0; i < definition.phases.size(); ++i) {
    if (!definition.phases[i].gate) continue;
    const GateDefinition& gate = *definition.phases[i].gate;
    if (!gate.rules) {
      *error = "workflow " + started.workflow_id + ": the gate of phase " +
               definition.phases[i].name + " has no rules";
      return nullptr;
    }
    s->gate_phase_ = i;
    s->tally_ = gate.rules->open(s->input_);
    s->gate_passed_ = s->tally_->passed();
    break;
  }
  AuditEntry& submitted = s->record_action(started, "submitted", p_started);
  const std::string& submitter_field = definition.submitter_input_field;
  if (submitted.actor.empty() && !submitter_field.empty()) {
    auto it = s->input_.find(submitter_field);
    if (it != s->input_.end() && it->is_string()) submitted.actor = it->get<std::string>();
  }
  s->last_seq_ = 1;
  s->created_ms_ = s->updated_ms_ = started.time_ms;
  s->recompute();
  return s;
}

std::size_t WorkflowState::step_index(const std::string& step_id) const {
  for (std::size_t i = 0; i < plan_.steps.size(); ++i)
    if (plan_.steps[i].id == step_id) return i;
  return static_cast<std::size_t>(-1);
}

bool WorkflowState::phase_steps_done(std::size_t phase) const {
  auto [b, e] = plan_.phase_ranges[phase];
  for (std::size_t i = b; i < e; ++i)
    if (steps_[i].status != StepStatus::completed) return false;
  return true;
}

bool WorkflowState::phase_started(const std::string& name) const {
  const auto& phases = definition_->phases;
  for (std::size_t p = 0; p < phases.size(); ++p) {
    if (phases[p].name != name) continue;
    if (current_phase_ != p) return current_phase_ > p;
    auto [b, e] = plan_.phase_ranges[p];
    for (std::size_t i = b; i < e; ++i)
      if (steps_[i].status != StepStatus::pending) return true;
    return false;
  }
  return false;
}

std::string WorkflowState::current_phase_name() const {
  const auto& phases = definition_->phases;
  if (phases.empty()) return "";
  return phases[std::min(current_phase_, phases.size() - 1)].name;
}

TimeMs WorkflowState::approval_deadline_ms() const {
  if (current_phase_ >= definition_->phases.size()) return 0;
  const auto& gate = definition_->phases[current_phase_].gate;
  if (!gate || gate_opened_ms_ == 0) return 0;
  const TimeMs opened = escalated_ms_ ? escalated_ms_ : gate_opened_ms_;
  TimeMs timeout = gate->default_timeout.count();
  if (!gate->timeout_input_field.empty() && input_.contains(gate->timeout_input_field) &&
      input_[gate->timeout_input_field].is_number() &&
      input_[gate->timeout_input_field].get<double>() > 0)
    timeout = static_cast<TimeMs>(input_[gate->timeout_input_field].get<double>() * 1000.0);
  return opened + timeout;
}

AuditEntry& WorkflowState::record_action(const JournalRecord& r, std::string action,
                                         const json& payload) {
  AuditEntry& e = audit_.emplace_back();
  e.action = std::move(action);
  e.at_ms = r.time_ms;
  e.seq = r.seq;
  if (payload.contains("actor") && payload["actor"].is_object()) {
    const json& a = payload["actor"];
    e.actor = a.value("subject", "");
    e.role = a.value("role", "");
    e.token = a.value("token", "");
  }
  return e;
}

void WorkflowState::begin_unwind(UnwindReason reason, std::string message) {
  if (unwind_reason_ != UnwindReason::none) return;  // the first reason wins
  unwind_reason_ = reason;
  failure_reason_ = std::move(message);
}

void WorkflowState::recompute() {
  const auto& phases = definition_->phases;
  std::size_t p = 0;
  while (p < phases.size() && phase_steps_done(p) && (!phases[p].gate || gate_approved())) ++p;
  current_phase_ = p;
  if (is_terminal(status_)) return;
  if (unwind_reason_ != UnwindReason::none) {
    status_ = WorkflowStatus::compensating;
  } else if (paused_step_ != static_cast<std::size_t>(-1) || held_) {
    status_ = WorkflowStatus::paused;
  } else if (p < phases.size() && phases[p].gate && phase_steps_done(p)) {
    status_ = WorkflowStatus::awaiting_approval;
  } else {
    status_ = WorkflowStatus::running;
  }
}


}  // namespace orch::engine
