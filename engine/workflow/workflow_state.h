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

// One human action on a workflow, as journaled: who, when, what, with which
// comment and through which API token (its id, never the secret).
struct AuditEntry {
  std::string action;  // submitted, approved, rejected, content_updated, cancelled, paused, resumed
  std::string actor;   // the reviewer or the token's subject ("" = unknown)
  std::string role;    // the token's role ("" = authentication off)
  std::string token;   // the token's id
  std::string level;   // approvals and rejections: the level decided
  int round = 0;       // approvals: the approval round (a content edit starts a new one)
  std::string comment; // comment, or the reason of a rejection, cancel or pause
  std::string detail;  // content_updated: the content id
  TimeMs at_ms = 0;
  std::uint64_t seq = 0;
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
  // Approval chain (the definition's single gate).
  bool gate_approved() const { return current_level_ >= policy_.levels.size(); }
  std::size_t gate_phase() const { return gate_phase_; }
  const ApprovalPolicy& approval_policy() const { return policy_; }
  // Index of the first level short of its quorum (== level count when all are met).
  std::size_t current_level() const { return current_level_; }
  int approval_round() const { return round_; }
  bool has_approved(std::size_t level, const std::string& reviewer) const;
  // Whether `reviewer` is listed at `level` (an empty list admits anyone;
  // escalation reviewers decide any level once the gate has escalated).
  bool reviewer_of(std::size_t level, const std::string& reviewer) const;
  // Held by an operator's pause (nothing new is scheduled until resumed).
  bool held() const { return held_; }
  const std::vector<AuditEntry>& audit() const { return audit_; }
  // The chain's state, the current phase, the content patches and the audit
  // trail (GET /v1/workflows/{id}/approvals and the updates' answers).
  nlohmann::json approvals_json() const;
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

 private:
  WorkflowState() = default;
  void begin_unwind(UnwindReason reason, std::string message);
  void recompute();
  void record_action(const JournalRecord& r, std::string action, const nlohmann::json& payload,
                     const std::string& actor_field);
  void reset_approvals();
  nlohmann::json levels_json() const;

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
  ApprovalPolicy policy_;
  std::size_t gate_phase_ = static_cast<std::size_t>(-1);
  int round_ = 1;
  std::vector<std::vector<std::string>> level_approvers_;  // this round's, per level
  std::size_t current_level_ = 0;
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
