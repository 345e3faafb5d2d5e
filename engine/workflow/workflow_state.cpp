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

namespace {
std::optional<WorkflowStatus> parse_status(const std::string& s) {
  for (auto st : {WorkflowStatus::running, WorkflowStatus::awaiting_approval, WorkflowStatus::paused,
                  WorkflowStatus::compensating, WorkflowStatus::completed, WorkflowStatus::failed,
                  WorkflowStatus::cancelled})
    if (s == to_string(st)) return st;
  return std::nullopt;
}
}  // namespace

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
    s->gate_phase_ = i;
    if (gate.policy) {
      s->policy_ = gate.policy(s->input_);
    } else {
      ApprovalLevel level{"approval", {}, 1};
      if (!gate.reviewers_pointer.empty()) {
        json::json_pointer ptr(gate.reviewers_pointer);
        if (s->input_.contains(ptr) && s->input_.at(ptr).is_array())
          for (const json& r : s->input_.at(ptr))
            if (r.is_string()) level.reviewers.push_back(r.get<std::string>());
      }
      s->policy_.levels.push_back(std::move(level));
    }
    break;
  }
  s->level_approvers_.resize(s->policy_.levels.size());
  s->record_action(started, "submitted", p_started, "");
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

bool WorkflowState::has_approved(std::size_t level, const std::string& reviewer) const {
  if (level >= level_approvers_.size()) return false;
  const auto& who = level_approvers_[level];
  return std::find(who.begin(), who.end(), reviewer) != who.end();
}

bool WorkflowState::reviewer_of(std::size_t level, const std::string& reviewer) const {
  if (level >= policy_.levels.size()) return false;
  const auto& listed = policy_.levels[level].reviewers;
  if (listed.empty() || std::find(listed.begin(), listed.end(), reviewer) != listed.end())
    return true;
  if (escalated_ms_ == 0 || gate_phase_ >= definition_->phases.size()) return false;
  const std::string& pointer = definition_->phases[gate_phase_].gate->escalation_reviewers_pointer;
  if (pointer.empty()) return false;
  json::json_pointer ptr(pointer);
  if (!input_.contains(ptr) || !input_.at(ptr).is_array()) return false;
  for (const json& r : input_.at(ptr))
    if (r.is_string() && r.get<std::string>() == reviewer) return true;
  return false;
}

void WorkflowState::record_action(const JournalRecord& r, std::string action,
                                  const json& payload, const std::string& actor_field) {
  AuditEntry e;
  e.action = std::move(action);
  e.at_ms = r.time_ms;
  e.seq = r.seq;
  if (payload.contains("actor") && payload["actor"].is_object()) {
    const json& a = payload["actor"];
    e.actor = a.value("subject", "");
    e.role = a.value("role", "");
    e.token = a.value("token", "");
  }
  if (!actor_field.empty() && payload.contains(actor_field) && payload[actor_field].is_string())
    e.actor = payload[actor_field].get<std::string>();
  if (e.action == "submitted" && e.actor.empty()) e.actor = policy_.submitter;
  audit_.push_back(std::move(e));
}

void WorkflowState::reset_approvals() {
  bool any = false;
  for (auto& who : level_approvers_) {
    any |= !who.empty();
    who.clear();
  }
  if (any) ++round_;
  current_level_ = 0;
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

Status WorkflowState::apply(const JournalRecord& r) {
  json p;
  if (!parse_json(r.payload, p))
    return Status::error("workflow " + workflow_id_ + " record " + std::to_string(r.seq) + " (" +
                         to_string(r.type) + "): the payload is not JSON");
  return apply(r, p);
}

Status WorkflowState::apply(const JournalRecord& r, json& p) {
  if (r.seq != last_seq_ + 1)
    return Status::error("workflow " + workflow_id_ + ": record seq " + std::to_string(r.seq) +
                         " after " + std::to_string(last_seq_));
  if (is_terminal(status_))
    return Status::error("workflow " + workflow_id_ + ": record after workflow_finished");
  try {
    auto step_of = [&]() -> std::size_t {
      std::size_t i = step_index(p.at("step").get<std::string>());
      if (i == static_cast<std::size_t>(-1))
        throw std::runtime_error("unknown step " + p.at("step").get<std::string>());
      return i;
    };
    auto compensation_of = [&]() -> compensation::Compensation& {
      auto* c = compensations_.find(p.at("step").get<std::string>());
      if (!c) throw std::runtime_error("no compensation registered for " +
                                       p.at("step").get<std::string>());
      return *c;
    };
    switch (r.type) {
      case RecordType::workflow_started:
        throw std::runtime_error("second workflow_started");
      case RecordType::entity_started:
      case RecordType::entity_call:
      case RecordType::entity_snapshot:
        throw std::runtime_error(std::string("an entity's record (") + to_string(r.type) +
                                 ") in a workflow's journal");
      case RecordType::step_scheduled: {
        StepState& s = steps_[step_of()];
        s.status = StepStatus::scheduled;
        s.attempts = p.at("attempt").get<int>();
        if (!s.first_scheduled_ms) s.first_scheduled_ms = r.time_ms;
        s.last_scheduled_ms = r.time_ms;
        s.retry_at_ms = 0;
        break;
      }
      case RecordType::step_completed: {
        const std::size_t i = step_of();
        StepState& s = steps_[i];
        s.status = StepStatus::completed;
        s.finished_ms = r.time_ms;
        s.last_error.clear();
        outputs_[plan_.steps[i].id] = std::move(p.at("output"));
        const StepDefinition& def = *plan_.steps[i].definition;
        if (!def.compensation.empty())
          compensations_.register_completed(plan_.steps[i].id, def.compensation, r.seq);
        break;
      }
      case RecordType::step_failed: {
        const std::size_t i = step_of();
        StepState& s = steps_[i];
        s.last_error = p.at("error").get<std::string>();
        if (p.contains("retry_at")) {
          s.status = StepStatus::retry_wait;
          s.retry_at_ms = p.at("retry_at").get<TimeMs>();
        } else {
          s.status = StepStatus::failed;
          s.finished_ms = r.time_ms;
          const std::string why = "step " + plan_.steps[i].id + " failed after " +
                                  std::to_string(s.attempts) + " attempt(s): " + s.last_error;
          if (p.value("pause", false) && unwind_reason_ == UnwindReason::none) {
            paused_step_ = i;
            pause_reason_ = why;
          } else {
            begin_unwind(UnwindReason::step_failed, why);
          }
        }
        break;
      }
      case RecordType::signal_received: {
        const std::string name = p.at("name").get<std::string>();
        const json& payload = p.at("payload");
        if (p.contains("key") && !p["key"].get<std::string>().empty())
          signal_keys_.emplace(p["key"].get<std::string>(), p.value("fingerprint", ""));
        bool handled = false;
        const GateDefinition* gate =
            gate_phase_ < definition_->phases.size() ? &*definition_->phases[gate_phase_].gate
                                                      : nullptr;
        // The level decided: journaled by the engine's validator; records
        // from before approval chains decide the current level.
        auto level_of = [&]() {
          const std::string name_of_level = payload.value("level", "");
          for (std::size_t l = 0; l < policy_.levels.size(); ++l)
            if (policy_.levels[l].name == name_of_level) return l;
          return current_level_;
        };
        if (gate && name == gate->approve_signal) {
          const std::size_t level = level_of();
          const std::string reviewer = payload.value("reviewer", "");
          record_action(r, "approved", payload, "reviewer");
          audit_.back().comment = payload.value("comment", "");
          audit_.back().round = round_;
          if (level < level_approvers_.size()) {
            audit_.back().level = policy_.levels[level].name;
            if (!has_approved(level, reviewer)) level_approvers_[level].push_back(reviewer);
          }
          while (current_level_ < policy_.levels.size() &&
                 static_cast<int>(level_approvers_[current_level_].size()) >=
                     policy_.levels[current_level_].quorum)
            ++current_level_;
          handled = true;
        } else if (gate && name == gate->reject_signal) {
          const std::size_t level = level_of();
          record_action(r, "rejected", payload, "reviewer");
          audit_.back().comment = payload.value("reason", "");
          audit_.back().round = round_;
          if (level < policy_.levels.size()) audit_.back().level = policy_.levels[level].name;
          begin_unwind(UnwindReason::rejected,
                       "rejected by " + payload.value("reviewer", "unknown") + ": " +
                           payload.value("reason", ""));
          handled = true;
        }
        for (const auto& patch : definition_->patch_signals) {
          if (name != patch.name) continue;
          patches_[name][payload.at(patch.key_field).get<std::string>()] =
              payload.at(patch.value_field);
          record_action(r, "content_updated", payload, "");
          audit_.back().detail = payload.at(patch.key_field).get<std::string>();
          if (patch.resets_approvals && current_phase_ == gate_phase_) reset_approvals();
          handled = true;
        }
        if (!handled) throw std::runtime_error("unknown signal " + name);
        break;
      }
      case RecordType::workflow_paused:
        held_ = true;
        hold_reason_ = p.value("reason", "");
        record_action(r, "paused", p, "");
        audit_.back().comment = hold_reason_;
        break;
      case RecordType::workflow_resumed:
        held_ = false;
        hold_reason_.clear();
        record_action(r, "resumed", p, "");
        audit_.back().comment = p.value("reason", "");
        break;
      case RecordType::cancel_requested:
        record_action(r, "cancelled", p, "");
        audit_.back().comment = p.value("reason", "");
        begin_unwind(UnwindReason::cancelled, "cancelled: " + p.value("reason", "by request"));
        break;
      case RecordType::step_reset: {
        const std::size_t i = step_of();
        if (i != paused_step_) throw std::runtime_error("step_reset of a step that did not pause");
        StepState& s = steps_[i];
        s.status = StepStatus::pending;
        s.attempts = 0;
        s.finished_ms = 0;
        paused_step_ = static_cast<std::size_t>(-1);
        pause_reason_.clear();
        break;
      }
      case RecordType::history_limit_reached:
        begin_unwind(UnwindReason::history_limit,
                     "the workflow's journal reached its cap of " +
                         std::to_string(p.value("limit", 0)) + " records");
        break;
      case RecordType::approval_escalated:
        escalated_ms_ = r.time_ms;
        break;
      case RecordType::approval_timed_out:
        begin_unwind(UnwindReason::approval_timeout,
                     "no approval before the deadline " +
                         format_time(p.value("deadline", TimeMs{0})));
        break;
      case RecordType::compensation_scheduled: {
        auto& c = compensation_of();
        c.status = compensation::CompensationStatus::running;
        c.attempts = p.at("attempt").get<int>();
        if (!c.started_ms) c.started_ms = r.time_ms;
        break;
      }
      case RecordType::compensation_completed: {
        auto& c = compensation_of();
        c.status = compensation::CompensationStatus::completed;
        c.completed_ms = r.time_ms;
        break;
      }
      case RecordType::compensation_failed: {
        auto& c = compensation_of();
        c.status = compensation::CompensationStatus::retry_wait;
        c.last_error = p.at("error").get<std::string>();
        c.retry_at_ms = p.at("retry_at").get<TimeMs>();
        break;
      }
      case RecordType::workflow_finished: {
        auto st = parse_status(p.at("status").get<std::string>());
        if (!st || !is_terminal(*st)) throw std::runtime_error("bad terminal status");
        if (p.contains("reason") && failure_reason_.empty())
          failure_reason_ = p["reason"].get<std::string>();
        status_ = *st;
        finished_ms_ = r.time_ms;
        break;
      }
    }
  } catch (const std::exception& e) {
    return Status::error("workflow " + workflow_id_ + " record " + std::to_string(r.seq) + " (" +
                         to_string(r.type) + "): " + e.what());
  }
  last_seq_ = r.seq;
  updated_ms_ = r.time_ms;
  recompute();
  // The gate opens when its phase's steps are done; the record that got us
  // there dates it, so the approval deadline is journaled implicitly.
  if (status_ == WorkflowStatus::awaiting_approval && gate_opened_ms_ == 0)
    gate_opened_ms_ = r.time_ms;
  return Status::ok();
}

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
  json approvals = json::array();
  for (const AuditEntry& a : audit_) {
    if (a.action != "approved" && a.action != "rejected") continue;
    json entry = {{"decision", a.action},
                  {"reviewer", a.actor},
                  {"level", a.level},
                  {"round", a.round},
                  {"at", format_time(a.at_ms)}};
    entry[a.action == "approved" ? "comment" : "reason"] = a.comment;
    approvals.push_back(std::move(entry));
  }
  out["approvals"] = std::move(approvals);
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
  if (gate_phase_ < definition_->phases.size()) out["approval_chain"] = levels_json();
  if (unwind_reason_ != UnwindReason::none) out["unwind_reason"] = to_string(unwind_reason_);
  if (!failure_reason_.empty()) out["reason"] = failure_reason_;
  out["compensations"] = compensations_.to_json();
  return out;
}

json WorkflowState::levels_json() const {
  json levels = json::array();
  for (std::size_t l = 0; l < policy_.levels.size(); ++l) {
    const ApprovalLevel& level = policy_.levels[l];
    const std::size_t got = level_approvers_[l].size();
    levels.push_back({{"name", level.name},
                      {"reviewers", level.reviewers},
                      {"quorum", level.quorum},
                      {"approved_by", level_approvers_[l]},
                      {"status", got >= static_cast<std::size_t>(level.quorum) ? "approved"
                                 : l == current_level_                          ? "pending"
                                                                                : "waiting"}});
  }
  return levels;
}

json WorkflowState::approvals_json() const {
  json trail = json::array();
  for (const AuditEntry& a : audit_) {
    json e = {{"action", a.action}, {"actor", a.actor}, {"at", format_time(a.at_ms)}, {"seq", a.seq}};
    if (!a.role.empty()) e["role"] = a.role;
    if (!a.token.empty()) e["token_id"] = a.token;
    if (!a.level.empty()) e["level"] = a.level;
    if (a.round) e["round"] = a.round;
    if (!a.comment.empty()) e[a.action == "approved" ? "comment" : "reason"] = a.comment;
    if (!a.detail.empty()) e["content_id"] = a.detail;
    trail.push_back(std::move(e));
  }
  json out = {{"workflow_id", workflow_id_},
              {"status", to_string(status_)},
              {"current_phase", current_phase_name()},
              {"round", round_},
              {"submitted_by", policy_.submitter},
              {"allow_self_approval", policy_.allow_self_approval},
              {"levels", levels_json()},
              {"approved", gate_approved()},
              {"audit", std::move(trail)}};
  if (current_level_ < policy_.levels.size())
    out["current_level"] = policy_.levels[current_level_].name;
  if (!patches_.empty()) out["patches"] = patches_;
  return out;
}

}  // namespace orch::engine
