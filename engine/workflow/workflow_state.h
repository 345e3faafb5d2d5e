// The state of one workflow run, rebuilt as a pure fold over its journal:
// the same records always give the same state, whether applied live or on
// recovery. Nothing here does I/O or reads a clock.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compensation/compensation_stack.h"
#include "engine/journal/journal_record.h"
#include "engine/common/status.h"
#include "engine/workflow/workflow_definition.h"
#include "observability/trace.h"

namespace orch::engine {

enum class WorkflowStatus {
  running,
  awaiting_approval,
  paused,  // a step exhausted its attempts under on_exhausted: pause
  compensating,
  completed,
  failed,
  cancelled
};
const char* to_string(WorkflowStatus status);
bool is_terminal(WorkflowStatus status);

enum class StepStatus { pending, scheduled, retry_wait, completed, failed };
const char* to_string(StepStatus status);

enum class UnwindReason { none, step_failed, rejected, cancelled, approval_timeout, history_limit };
const char* to_string(UnwindReason reason);

struct StepState {
  StepStatus status = StepStatus::pending;
  int attempts = 0;  // attempts scheduled so far
  std::string last_error;  // a completed step's output is in outputs()
  TimeMs first_scheduled_ms = 0;
  TimeMs last_scheduled_ms = 0;
  TimeMs finished_ms = 0;
  TimeMs retry_at_ms = 0;
};

class WorkflowState {
 public:
  // Builds the state from a workflow's first record (workflow_started).
  // REQUIRES: `definition` outlives the state.
  static std::unique_ptr<WorkflowState> start(const JournalRecord& started,
                                              const WorkflowDefinition& definition,
                                              std::string* error);
  // The same, with `payload` parsed from started.payload.
  static std::unique_ptr<WorkflowState> start(const JournalRecord& started,
                                              nlohmann::json payload,
                                              const WorkflowDefinition& definition,
                                              std::string* error);

  // Folds the next record in. Records must come with seq == last_seq() + 1.
  Status apply(const JournalRecord& record);
  // The same, with `payload` already parsed from record.payload (the engine
  // has it at hand when it creates the record: no second parse). A step's
  // output is moved out of `payload` into outputs(), not copied.
  Status apply(const JournalRecord& record, nlohmann::json& payload);

  // Identity and input.
  const std::string& workflow_id() const { return workflow_id_; }
  const std::string& run_id() const { return run_id_; }
  const std::string& idempotency_key() const { return idempotency_key_; }
  const std::string& trace_id() const { return trace_id_; }
  // Span ids of this workflow: derive_span_id(trace_id, workflow_id + "/" + key).
  const observability::SpanIdSeed& span_seed() const { return span_seed_; }
  // The caller's span (from its traceparent) the workflow's span hangs off, or "".
  const std::string& trace_parent() const { return trace_parent_; }
  const WorkflowDefinition& definition() const { return *definition_; }
  const nlohmann::json& input() const { return input_; }
  const WorkflowPlan& plan() const { return plan_; }
  std::uint64_t last_seq() const { return last_seq_; }
  TimeMs created_ms() const { return created_ms_; }
  TimeMs updated_ms() const { return updated_ms_; }

  // Progress.
  WorkflowStatus status() const { return status_; }
  // Index of the first phase not yet passed (== phase count when all passed).
  std::size_t current_phase() const { return current_phase_; }
  std::string current_phase_name() const;
  const StepState& step(std::size_t index) const { return steps_[index]; }
  std::size_t step_count() const { return steps_.size(); }
  std::size_t step_index(const std::string& step_id) const;  // npos if unknown
  bool phase_steps_done(std::size_t phase) const;
  // Whether phase `name` has begun: a step of it left pending, or the
  // workflow is past it. False for a name the definition does not have.
  bool phase_started(const std::string& name) const;
  // The gate (the definition's single one, see human_gate.h).
  bool gate_approved() const { return gate_passed_; }
  std::size_t gate_phase() const { return gate_phase_; }
  // The kind's tally of the gate's decisions; nullptr without a gate.
  const GateTally* gate_tally() const { return tally_.get(); }
  // Held by an operator's pause (nothing new is scheduled until resumed).
  bool held() const { return held_; }
  // The journaled trail of human actions, oldest first.
  const std::vector<AuditEntry>& audit() const { return audit_; }
  // The gate's view: its tally and the audit trail (GET
  // /v1/workflows/{id}/approvals and the updates' answers), as the kind
  // renders it.
  nlohmann::json gate_view() const;
  TimeMs gate_opened_ms() const { return gate_opened_ms_; }
  TimeMs escalated_ms() const { return escalated_ms_; }
  // When the first phase may start (0 = at once).
  TimeMs not_before_ms() const { return not_before_ms_; }
  TimeMs approval_deadline_ms() const;
  int progress_percentage() const;

  // Outputs of completed steps, by step id.
  const std::map<std::string, nlohmann::json>& outputs() const { return outputs_; }
  const nlohmann::json& patches() const { return patches_; }
  // The fingerprint of the request a signal's idempotency key was first
  // used with (see signal_fingerprint), "" for a key journaled before keys
  // were bound to their request, or nullptr for a key not seen.
  const std::string* signal_key_fingerprint(const std::string& key) const {
    auto it = signal_keys_.find(key);
    return it == signal_keys_.end() ? nullptr : &it->second;
  }

  // The step that paused the workflow (npos when not paused).
  std::size_t paused_step() const { return paused_step_; }

  // Unwinding.
  UnwindReason unwind_reason() const { return unwind_reason_; }
  const std::string& failure_reason() const { return failure_reason_; }
  const compensation::CompensationStack& compensations() const { return compensations_; }
  compensation::CompensationStack& compensations() { return compensations_; }

  // The full view served by GET /v1/workflows/{id}.
  nlohmann::json to_json() const;
  // Merges the kind's own fields into a view (WorkflowDefinition::view_fields).
  void add_view_fields(nlohmann::json& view) const;

 private:
  WorkflowState() = default;
  void begin_unwind(UnwindReason reason, std::string message);
  void recompute();
  // Appends the audit entry of record `r` (its time, seq and the token's
  // identity from payload["actor"]).
  AuditEntry& record_action(const JournalRecord& r, std::string action,
                            const nlohmann::json& payload);
  // Folds a signal_received record's payload in (workflow_fold.cpp).
  void fold_signal(const JournalRecord& r, const nlohmann::json& p);
  void fold_decision(const JournalRecord& r, bool approve, const nlohmann::json& payload);
  void fold_patch(const JournalRecord& r, const PatchSignalDefinition& patch,
                  const nlohmann::json& payload);

  const WorkflowDefinition* definition_ = nullptr;
  std::string workflow_id_;
  std::string run_id_;
  std::string idempotency_key_;
  std::string trace_id_;
  std::string trace_parent_;
  observability::SpanIdSeed span_seed_;
  nlohmann::json input_;
  WorkflowPlan plan_;
  std::vector<StepState> steps_;
  std::uint64_t last_seq_ = 0;
  TimeMs created_ms_ = 0;
  TimeMs updated_ms_ = 0;
  TimeMs finished_ms_ = 0;

  WorkflowStatus status_ = WorkflowStatus::running;
  std::size_t current_phase_ = 0;
  TimeMs gate_opened_ms_ = 0;
  TimeMs escalated_ms_ = 0;
  TimeMs not_before_ms_ = 0;
  std::map<std::string, nlohmann::json> outputs_;
  nlohmann::json patches_ = nlohmann::json::object();
  std::unique_ptr<GateTally> tally_;  // null without a gate
  bool gate_passed_ = true;            // tally_->passed(), kept for recompute()
  std::size_t gate_phase_ = static_cast<std::size_t>(-1);
  bool held_ = false;
  std::string hold_reason_;
  std::vector<AuditEntry> audit_;
  std::map<std::string, std::string> signal_keys_;  // idempotency key -> fingerprint

  std::size_t paused_step_ = static_cast<std::size_t>(-1);
  std::string pause_reason_;
  UnwindReason unwind_reason_ = UnwindReason::none;
  std::string failure_reason_;
  compensation::CompensationStack compensations_;
};

}  // namespace orch::engine
