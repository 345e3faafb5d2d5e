// A workflow as an OpenTelemetry trace. One trace per workflow (its id is
// journaled in workflow_started); a span for the workflow (a child of the
// caller's span when POST /v1/campaigns carried a traceparent), one per
// phase under it, one per step attempt under its phase and one per
// compensation attempt under the workflow span. Adapters add a CLIENT span
// per HTTP call under the step or compensation attempt whose traceparent
// they were given.
//
// Span ids are derived, never stored: a hash of the trace id, the workflow
// id and what the span is about ("phase:research",
// "step:<id>:<attempt>:<scheduled_ms>", "compensation:<id>:<attempt>"), so a
// workflow resumed after a restart names the same spans and its children
// hang under the same parents. Start and end times come from the journal
// records. A span is recorded when the record that ends it is folded in:
//   workflow    workflow_started .. workflow_finished
//   phase       its first step scheduled .. the phase passed (review: once
//               approved), or, when the saga unwinds in it, its last step
//               settled
//   step        step_scheduled .. step_completed / step_failed
//   compensation compensation_scheduled .. compensation_completed / _failed
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "engine/journal/journal_record.h"
#include "engine/workflow/workflow_state.h"
#include "observability/trace.h"

namespace orch::engine {

class WorkflowTracer {
 public:
  // What on_record needs from the state before the record is folded in.
  struct Before {
    std::size_t phase = 0;
    bool settled = false;           // unwinding, and no step of `phase` in flight
    TimeMs attempt_started_ms = 0;  // compensation records: when that attempt began
  };

  // REQUIRES: `sink` outlives the tracer.
  explicit WorkflowTracer(observability::SpanSink& sink) : sink_(sink) {}

  // Span ids: also used without a sink, for the traceparent sent to services
  // and the span_id of log lines.
  static std::string workflow_span_id(const WorkflowState& st);
  static std::string phase_span_id(const WorkflowState& st, std::size_t phase);
  // The span of step `index`'s current (latest scheduled) attempt.
  static std::string step_span_id(const WorkflowState& st, std::size_t index);
  static std::string compensation_span_id(const WorkflowState& st, const std::string& step_id,
                                          int attempt);
  // The span a record (or its log line) is about: the step or compensation
  // attempt it names, else the workflow.
  static std::string span_of(const WorkflowState& st, RecordType type,
                             const nlohmann::json& payload);

  static Before before(const WorkflowState& st, RecordType type, const nlohmann::json& payload);
  // Records the spans `r` ends. `parent_span_id` is the caller's span
  // (from the journaled traceparent of the start), or "".
  void on_record(const WorkflowState& st, const JournalRecord& r, const nlohmann::json& payload,
                 const Before& before, const std::string& parent_span_id);

 private:
  void record_phase(const WorkflowState& st, std::size_t phase, TimeMs end_ms, bool unwound);

  observability::SpanSink& sink_;
};

}  // namespace orch::engine
