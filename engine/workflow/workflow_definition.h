// A workflow definition is data: ordered phases, each a set of steps run in
// parallel or in sequence, an optional human gate (human_gate.h), and per-step
// retry policy, timeout and compensation. Steps can fan out over an array of
// the workflow input (`for_each`) or be included only when an input array
// holds a value (`when_contains`).
#pragma once

#include <chrono>
#include <optional>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/workflow/human_gate.h"

namespace orch::engine {

using std::chrono::milliseconds;

struct RetryPolicy {
  int max_attempts = 3;  // including the first; 0 = unlimited
  milliseconds initial_interval{1'000};
  double backoff_coefficient = 2.0;
  milliseconds max_interval{60'000};
  // Full jitter: the delay is drawn uniformly in [0, delay_after(attempt)]
  // (the draw is journaled with the retry deadline, so replay is exact).
  bool full_jitter = false;
  // Failures never retried (Temporal's non-retryable error types): by the
  // service's HTTP status, or by a substring of the error.
  std::vector<int> non_retryable_statuses{};
  std::vector<std::string> non_retryable_errors{};

  bool retryable(int http_status, const std::string& error) const;

  // Delay after failed attempt number `attempt` (1-based), without jitter.
  milliseconds delay_after(int attempt) const;
};

enum class PhaseMode { parallel, sequential };

// What a step does when its attempts are exhausted (or it fails permanently):
// unwind the saga (the default), or pause the workflow in place until an
// operator redrives it (POST /v1/workflows/{id}/retry).
enum class OnExhausted { compensate, pause };

struct StepDefinition {
  std::string name;          // unique within the phase
  std::string activity;      // name in the ActivityRegistry
  std::string compensation;  // activity undoing it; empty = nothing to undo
  RetryPolicy retry;
  milliseconds timeout{60'000};  // per attempt, start to close
  // From the first schedule to the last moment the step may still start an
  // attempt; bounds how long it waits for an unavailable service.
  milliseconds schedule_to_close{24LL * 3600 * 1000};
  OnExhausted on_exhausted = OnExhausted::compensate;
  std::string for_each;          // JSON pointer to an input array; "" = once
  std::string when_contains_pointer;  // JSON pointer to an input array...
  std::string when_contains_value;    // ...that must contain this string
};

struct PhaseDefinition {
  std::string name;
  PhaseMode mode = PhaseMode::sequential;
  std::vector<StepDefinition> steps;
  std::optional<GateDefinition> gate;
};

// A signal that patches workflow data before a given phase starts: its
// payload's `key_field` names what is replaced, `value_field` holds the
// replacement; activities read the patches (ActivityRequest::patches).
struct PatchSignalDefinition {
  std::string name;
  std::string key_field;
  std::string value_field;
  std::string before_phase;
  std::vector<std::string> allowed_keys;  // empty = any key
  // A patch applied while the gate is open (the phase before `before_phase`
  // waits for its decision) withdraws the decisions given so far
  // (GateTally::withdraw): those who decided saw what the patch changed.
  bool withdraws_decisions = false;
  std::string audit_action = "patched";  // the action in the audit trail
};

struct WorkflowDefinition {
  std::string name;
  int version = 1;
  std::vector<PhaseDefinition> phases;
  std::vector<PatchSignalDefinition> patch_signals;
  RetryPolicy compensation_retry{0, milliseconds{500}, 2.0, milliseconds{30'000}};
  // Input field holding an RFC 3339 time before which the first phase does
  // not start ("" = start at once).
  std::string start_at_input_field;
  // A running workflow may be paused (held: nothing new is scheduled) until
  // this phase has started; "" = it cannot be paused.
  std::string pausable_before_phase;
  // Input field naming who submitted the run, for the audit trail when the
  // start carried no identity ("" = none).
  std::string submitter_input_field;
  // Fields the kind adds to a run's views (GET /v1/workflows/{id} and its
  // progress): a pure function of the run's input and its completed steps'
  // outputs (by step id), whose members are merged into the view. Empty:
  // none.
  std::function<nlohmann::json(const nlohmann::json& input,
                               const std::map<std::string, nlohmann::json>& outputs)>
      view_fields;
};

// One concrete step of one workflow run, after fan-out.
struct PlannedStep {
  std::string id;  // "phase.name" or "phase.name[i]"
  std::size_t phase = 0;
  const StepDefinition* definition = nullptr;
  nlohmann::json item;  // the for_each element, or null
};

struct WorkflowPlan {
  std::vector<PlannedStep> steps;  // grouped by phase, in definition order
  // [begin, end) into steps for each phase.
  std::vector<std::pair<std::size_t, std::size_t>> phase_ranges;
};

// The value at a JSON pointer (RFC 6901, as nlohmann's json_pointer reads
// it) in `input`, or nullptr if the pointer is malformed or leads nowhere.
const nlohmann::json* at_pointer(const nlohmann::json& input, std::string_view pointer);

// REQUIRES: `definition` outlives the plan.
WorkflowPlan expand_plan(const WorkflowDefinition& definition, const nlohmann::json& input);

}  // namespace orch::engine
