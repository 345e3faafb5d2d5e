// WorkflowState::apply: folds one journal record into the state, the same
// live and on replay. Nothing here does I/O or reads a clock.
#include "engine/workflow/workflow_state.h"

#include <algorithm>

#include "engine/json/json_read.h"
#include "engine/time/time_format.h"

namespace orch::engine {

using nlohmann::json;

namespace {
std::optional<WorkflowStatus> parse_status(const std::string& s) {
  for (auto st : {WorkflowStatus::running, WorkflowStatus::awaiting_approval, WorkflowStatus::paused,
                  WorkflowStatus::compensating, WorkflowStatus::completed, WorkflowStatus::failed,
                  WorkflowStatus::cancelled})
    if (s == to_string(st)) return st;
  return std::nullopt;
}
}  // namespace
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
      case RecordType::signal_received:
        fold_signal(r, p);
        break;
      case RecordType::workflow_paused:
        held_ = true;
        hold_reason_ = p.value("reason", "");
        record_action(r, "paused", p).comment = hold_reason_;
        break;
      case RecordType::workflow_resumed:
        held_ = false;
        hold_reason_.clear();
        record_action(r, "resumed", p).comment = p.value("reason", "");
        break;
      case RecordType::cancel_requested:
        record_action(r, "cancelled", p).comment = p.value("reason", "");
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

// A signal is a decision of the gate, a patch, or both; the idempotency
// key it came with is remembered with the request's fingerprint.
void WorkflowState::fold_signal(const JournalRecord& r, const json& p) {
  const std::string name = p.at("name").get<std::string>();
  const json& payload = p.at("payload");
  if (p.contains("key") && !p["key"].get<std::string>().empty())
    signal_keys_.emplace(p["key"].get<std::string>(), p.value("fingerprint", ""));
  bool handled = false;
  const GateDefinition* gate =
      gate_phase_ < definition_->phases.size() ? &*definition_->phases[gate_phase_].gate : nullptr;
  if (gate && (name == gate->approve_signal || name == gate->reject_signal)) {
    fold_decision(r, name == gate->approve_signal, payload);
    handled = true;
  }
  for (const PatchSignalDefinition& patch : definition_->patch_signals) {
    if (name != patch.name) continue;
    fold_patch(r, patch, payload);
    handled = true;
  }
  if (!handled) throw std::runtime_error("unknown signal " + name);
}

void WorkflowState::fold_decision(const JournalRecord& r, bool approve, const json& payload) {
  AuditEntry& entry = record_action(r, approve ? "approved" : "rejected", payload);
  std::string why = tally_->count(approve, payload, entry);
  gate_passed_ = tally_->passed();
  if (!approve) begin_unwind(UnwindReason::rejected, std::move(why));
}

void WorkflowState::fold_patch(const JournalRecord& r, const PatchSignalDefinition& patch,
                               const json& payload) {
  const std::string key = payload.at(patch.key_field).get<std::string>();
  patches_[patch.name][key] = payload.at(patch.value_field);
  record_action(r, patch.audit_action, payload).detail = key;
  if (patch.withdraws_decisions && tally_ && current_phase_ == gate_phase_) {
    tally_->withdraw();
    gate_passed_ = tally_->passed();
  }
}

}  // namespace orch::engine
