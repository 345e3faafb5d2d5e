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
#include "engine/journal_record.h"
#include "engine/status.h"
#include "engine/workflow_definition.h"

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
  nlohmann::json output;
  std::string last_error;
  TimeMs first_scheduled_ms = 0;
  TimeMs last_scheduled_ms = 0;
  TimeMs finished_ms = 0;
  TimeMs retry_at_ms = 0;
};

struct SignalEntry {
  std::string name;
  nlohmann::json payload;
  TimeMs at_ms = 0;
};

class WorkflowState {
 public:
  // Builds the state from a workflow's first record (workflow_started).
  // REQUIRES: `definition` outlives the state.
  static std::unique_ptr<WorkflowState> start(const JournalRecord& started,
                                              const WorkflowDefinition& definition,
                                              std::string* error);
  // Parses the definition name of a workflow_started record.
  static std::string definition_of(const JournalRecord& started);

  // Folds the next record in. Records must come with seq == last_seq() + 1.
  Status apply(const JournalRecord& record);

  // Identity and input.
  const std::string& workflow_id() const { return workflow_id_; }
  const std::string& run_id() const { return run_id_; }
  const std::string& idempotency_key() const { return idempotency_key_; }
  const std::string& trace_id() const { return trace_id_; }
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
  bool gate_approved() const { return !approvals_.empty(); }
  TimeMs gate_opened_ms() const { return gate_opened_ms_; }
  TimeMs escalated_ms() const { return escalated_ms_; }
  // When the first phase may start (0 = at once).
  TimeMs not_before_ms() const { return not_before_ms_; }
  // Whether `reviewer` may decide the current gate (its reviewers, plus the
  // escalation reviewers once escalated).
  bool may_decide(const GateDefinition& gate, const std::string& reviewer) const;
  TimeMs approval_deadline_ms() const;
  int progress_percentage() const;

  // Outputs of completed steps, by step id.
  const std::map<std::string, nlohmann::json>& outputs() const { return outputs_; }
  const nlohmann::json& patches() const { return patches_; }
  const std::vector<SignalEntry>& approvals() const { return approvals_; }
  bool seen_signal_key(const std::string& key) const { return signal_keys_.count(key) > 0; }

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

  const WorkflowDefinition* definition_ = nullptr;
  std::string workflow_id_;
  std::string run_id_;
  std::string idempotency_key_;
  std::string trace_id_;
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
  std::vector<SignalEntry> approvals_;
  std::vector<SignalEntry> rejections_;
  std::set<std::string> signal_keys_;

  std::size_t paused_step_ = static_cast<std::size_t>(-1);
  std::string pause_reason_;
  UnwindReason unwind_reason_ = UnwindReason::none;
  std::string failure_reason_;
  compensation::CompensationStack compensations_;
};

}  // namespace orch::engine
