#include "engine/workflow/workflow_tracer.h"

#include <algorithm>
#include <charconv>

#include "engine/time/time_format.h"

namespace orch::engine {

using nlohmann::json;
using observability::Span;

namespace {

constexpr std::size_t kNpos = static_cast<std::size_t>(-1);
constexpr std::int64_t kNanosPerMs = 1'000'000;

std::string span_id(const WorkflowState& st, const std::string& what) {
  return st.span_seed().derive({what});
}

// Decimal digits of `n`, in `buffer`.
std::string_view decimal(char (&buffer)[24], std::int64_t n) {
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, n);
  (void)ec;  // 24 characters hold any 64-bit integer
  return {buffer, static_cast<std::size_t>(end - buffer)};
}

// Unwinding, and no step of the current phase is still in flight: the
// phase's work is over, only compensations remain.
bool settled(const WorkflowState& st) {
  const std::size_t p = st.current_phase();
  if (st.unwind_reason() == UnwindReason::none || p >= st.plan().phase_ranges.size()) return false;
  auto [b, e] = st.plan().phase_ranges[p];
  for (std::size_t i = b; i < e; ++i)
    if (st.step(i).status == StepStatus::scheduled) return false;
  return true;
}

const compensation::Compensation* find_compensation(const WorkflowState& st,
                                                    const std::string& step_id) {
  for (const compensation::Compensation* c : st.compensations().unwind_order())
    if (c->step_id == step_id) return c;
  return nullptr;
}

Span make_span(const WorkflowState& st, std::string id, std::string parent, std::string name,
               TimeMs start_ms, TimeMs end_ms) {
  Span s;
  s.trace_id = st.trace_id();
  s.span_id = std::move(id);
  s.parent_span_id = std::move(parent);
  s.name = std::move(name);
  s.start_unix_ns = start_ms * kNanosPerMs;
  s.end_unix_ns = std::max(start_ms, end_ms) * kNanosPerMs;
  s.attr("workflow.id", st.workflow_id());
  return s;
}

}  // namespace

std::string WorkflowTracer::workflow_span_id(const WorkflowState& st) {
  return span_id(st, "workflow");
}

std::string WorkflowTracer::phase_span_id(const WorkflowState& st, std::size_t phase) {
  return span_id(st, "phase:" + st.definition().phases[phase].name);
}

std::string WorkflowTracer::step_span_id(const WorkflowState& st, std::size_t index) {
  const StepState& s = st.step(index);
  // The scheduling time tells apart the attempts of a step an operator
  // redrove (its attempts count restarts at 1).
  char attempts[24], scheduled[24];
  return st.span_seed().derive({"step:", st.plan().steps[index].id, ":",
                                decimal(attempts, s.attempts), ":",
                                decimal(scheduled, s.last_scheduled_ms)});
}

std::string WorkflowTracer::compensation_span_id(const WorkflowState& st,
                                                 const std::string& step_id, int attempt) {
  return span_id(st, "compensation:" + step_id + ":" + std::to_string(attempt));
}

std::string WorkflowTracer::span_of(const WorkflowState& st, RecordType type, const json& payload) {
  switch (type) {
    case RecordType::step_scheduled:
    case RecordType::step_completed:
    case RecordType::step_failed:
      if (payload.contains("step") && payload["step"].is_string())
        if (std::size_t i = st.step_index(payload["step"].get<std::string>()); i != kNpos)
          return step_span_id(st, i);
      break;
    case RecordType::compensation_scheduled:
    case RecordType::compensation_completed:
    case RecordType::compensation_failed:
      if (payload.contains("step") && payload["step"].is_string())
        return compensation_span_id(st, payload["step"].get<std::string>(),
                                    payload.value("attempt", 1));
      break;
    default:
      break;
  }
  return workflow_span_id(st);
}

WorkflowTracer::Before WorkflowTracer::before(const WorkflowState& st, RecordType type,
                                              const json& payload) {
  Before b;
  b.phase = st.current_phase();
  b.settled = settled(st);
  if ((type == RecordType::compensation_completed || type == RecordType::compensation_failed) &&
      payload.contains("step") && payload["step"].is_string()) {
    if (const auto* c = find_compensation(st, payload["step"].get<std::string>())) {
      // A retry is scheduled when the previous failure's retry time comes.
      b.attempt_started_ms =
          c->attempts <= 1 ? c->started_ms : std::max(c->retry_at_ms, c->started_ms);
    }
  }
  return b;
}

void WorkflowTracer::on_record(const WorkflowState& st, const JournalRecord& r, const json& payload,
                               const Before& before, const std::string& parent_span_id) {
  switch (r.type) {
    case RecordType::step_completed:
    case RecordType::step_failed: {
      const std::size_t i = st.step_index(payload.value("step", ""));
      if (i == kNpos) break;
      const StepState& s = st.step(i);
      const PlannedStep& planned = st.plan().steps[i];
      const std::size_t p = planned.phase;
      Span span = make_span(st, step_span_id(st, i), phase_span_id(st, p), "step " + planned.id,
                            s.last_scheduled_ms, r.time_ms);
      span.attr("workflow.phase", st.definition().phases[p].name)
          .attr("workflow.step", planned.id)
          .attr("workflow.activity", planned.definition->activity)
          .attr("workflow.attempt", payload.value("attempt", s.attempts));
      if (r.type == RecordType::step_failed) {
        span.fail(payload.value("error", "failed"));
        if (payload.contains("retry_at"))
          span.attr("workflow.retry_at", format_time(payload["retry_at"].get<TimeMs>()));
      }
      sink_.record(std::move(span));
      break;
    }
    case RecordType::compensation_completed:
    case RecordType::compensation_failed: {
      const std::string step_id = payload.value("step", "");
      const int attempt = payload.value("attempt", 1);
      const auto* c = find_compensation(st, step_id);
      Span span =
          make_span(st, compensation_span_id(st, step_id, attempt), workflow_span_id(st),
                    "compensate " + step_id,
                    before.attempt_started_ms ? before.attempt_started_ms : r.time_ms, r.time_ms);
      span.attr("workflow.step", step_id)
          .attr("workflow.activity", c ? c->activity : std::string())
          .attr("workflow.attempt", attempt)
          .attr("workflow.unwind_reason", to_string(st.unwind_reason()));
      if (r.type == RecordType::compensation_failed) span.fail(payload.value("error", "failed"));
      sink_.record(std::move(span));
      break;
    }
    case RecordType::workflow_finished: {
      Span span = make_span(st, workflow_span_id(st), parent_span_id,
                            "workflow " + st.definition().name, st.created_ms(), r.time_ms);
      span.attr("workflow.name", st.definition().name)
          .attr("workflow.run_id", st.run_id())
          .attr("workflow.status", to_string(st.status()));
      if (st.unwind_reason() != UnwindReason::none)
        span.attr("workflow.unwind_reason", to_string(st.unwind_reason()));
      if (st.status() == WorkflowStatus::failed) span.fail(st.failure_reason());
      sink_.record(std::move(span));
      break;
    }
    default:
      break;
  }
  // Phases passed by this record, then the phase the saga unwound in once
  // its last step settles.
  const std::size_t after = st.current_phase();
  const std::size_t phase_count = st.definition().phases.size();
  for (std::size_t p = before.phase; p < after && p < phase_count; ++p)
    record_phase(st, p, r.time_ms, /*unwound=*/false);
  if (settled(st) && !(before.settled && before.phase == after))
    record_phase(st, after, r.time_ms, /*unwound=*/true);
}

void WorkflowTracer::record_phase(const WorkflowState& st, std::size_t phase, TimeMs end_ms,
                                  bool unwound) {
  auto [b, e] = st.plan().phase_ranges[phase];
  TimeMs start = 0;
  bool failed = false;
  for (std::size_t i = b; i < e; ++i) {
    const StepState& s = st.step(i);
    if (s.first_scheduled_ms && (!start || s.first_scheduled_ms < start))
      start = s.first_scheduled_ms;
    failed |= s.status == StepStatus::failed;
  }
  if (!start) return;  // never started: no span (and no children)
  const std::string& name = st.definition().phases[phase].name;
  Span span =
      make_span(st, phase_span_id(st, phase), workflow_span_id(st), "phase " + name, start, end_ms);
  span.attr("workflow.phase", name);
  if (unwound) span.attr("workflow.unwind_reason", to_string(st.unwind_reason()));
  if (failed) span.fail("a step of phase " + name + " failed");
  sink_.record(std::move(span));
}

}  // namespace orch::engine
