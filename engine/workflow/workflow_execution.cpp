// Running a step's or a compensation's activity and folding its outcome in:
// completed, retried after a journaled backoff, parked while its service
// refuses calls, failed; and the wake-ups of the engine's timers.
#include "engine/workflow/workflow_run.h"

#include <algorithm>
#include <chrono>

#include "engine/workflow/workflow_tracer.h"
#include "observability/log.h"
#include "observability/metrics.h"

namespace orch::engine {

using nlohmann::json;

namespace {
// Shortest wait before a parked call tries the service again, plus up to as
// much jitter so a thousand parked steps do not knock at once.
constexpr TimeMs kMinParkMs = 200;
// Longest wait before a parked call asks again (admission is an in-process
// check, so asking is cheap), so a breaker an operator closes, or one that
// half-opens early, is noticed promptly.
constexpr TimeMs kMaxParkMs = 2000;
// A workflow whose journal could not be read back when its deadline came
// tries again after this long.
constexpr TimeMs kReadBackRetryMs = 5000;
// The forward output an activity reads when it has none: a forward step's,
// or a compensation's whose step left no output.
const json kNullJson;
}  // namespace

void WorkflowEngine::execute_step(const WorkflowPtr& wfp, std::size_t index) {
  Workflow& wf = *wfp;
  const WorkflowState& st = *wf.state;
  const PlannedStep& planned = st.plan().steps[index];
  const StepDefinition& def = *planned.definition;
  const int attempt = st.step(index).attempts;
  Activity* activity = activities_.find(def.activity);
  const auto started = std::chrono::steady_clock::now();
  std::weak_ptr<bool> alive = alive_;
  auto done = [this, alive, wfp, index, attempt, started](ActivityOutcome outcome) {
    if (alive.expired()) return;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    on_step_done(wfp, index, attempt, std::move(outcome), seconds);
  };
  if (!activity) {
    done(ActivityOutcome::failure(ActivityOutcomeKind::permanent,
                                  "no activity registered as '" + def.activity + "'"));
    return;
  }
  const std::string key = st.workflow_id() + ":" + planned.id;
  const std::string traceparent = traceparent_for(wf, WorkflowTracer::step_span_id(st, index));
  ActivityRequest request{st.workflow_id(), planned.id,   attempt,         key,
                          def.timeout,      st.input(),   planned.item,    st.outputs(),
                          st.patches(),     kNullJson,    traceparent};
  activity->run(request, std::move(done));
}

void WorkflowEngine::on_step_done(const WorkflowPtr& wfp, std::size_t index, int attempt,
                                  ActivityOutcome outcome, double seconds) {
  Workflow& wf = *wfp;
  wf.in_flight.erase(index);
  if (outcome.kind != ActivityOutcomeKind::unavailable) wf.outcome_unknown.erase(index);
  WorkflowState& st = *wf.state;
  const PlannedStep& planned = st.plan().steps[index];
  const StepDefinition& def = *planned.definition;
  if (outcome.kind == ActivityOutcomeKind::ok) {
    if (metrics_) metrics_->activity_finished(def.activity, "success", seconds);
    emit(wf, RecordType::step_completed,
         step_payload(planned.id, attempt, std::move(outcome.output)));
  } else if (outcome.kind == ActivityOutcomeKind::unavailable &&
             st.unwind_reason() != UnwindReason::none && !wf.outcome_unknown.count(index)) {
    // Never sent, and the saga is unwinding: nothing to wait for or undo.
    emit(wf, RecordType::step_failed,
         {{"step", planned.id},
          {"attempt", attempt},
          {"error", "abandoned while waiting for its service (never sent): " + outcome.error}});
  } else if (outcome.kind == ActivityOutcomeKind::unavailable &&
             clock_.now_ms() - st.step(index).first_scheduled_ms < def.schedule_to_close.count()) {
    // The call was not sent: wait for the service without using an attempt.
    if (metrics_) metrics_->activity_finished(def.activity, "waiting_for_service", seconds);
    if (wf.parked.insert_or_assign(index, park_until(outcome.retry_after)).second && metrics_)
      metrics_->step_waiting_for_service(def.activity, +1);
  } else {
    const bool unavailable_too_long = outcome.kind == ActivityOutcomeKind::unavailable;
    const bool may_retry = outcome.kind == ActivityOutcomeKind::retryable &&
                           def.retry.retryable(outcome.http_status, outcome.error) &&
                           st.unwind_reason() == UnwindReason::none &&
                           (def.retry.max_attempts == 0 || attempt < def.retry.max_attempts);
    if (metrics_)
      metrics_->activity_finished(def.activity, may_retry ? "retry" : "failure", seconds);
    json payload = {{"step", planned.id},
                    {"attempt", attempt},
                    {"error", unavailable_too_long
                                  ? outcome.error + " (unavailable past its schedule-to-close)"
                                  : outcome.error}};
    if (may_retry) {
      TimeMs delay = def.retry.delay_after(attempt).count();
      if (def.retry.full_jitter) delay = std::uniform_int_distribution<TimeMs>(0, delay)(random_);
      payload["retry_at"] = clock_.now_ms() + std::max<TimeMs>(delay, outcome.retry_after.count());
      if (metrics_) metrics_->activity_retried(def.activity);
    } else if (def.on_exhausted == OnExhausted::pause && st.unwind_reason() == UnwindReason::none) {
      payload["pause"] = true;
    }
    emit(wf, RecordType::step_failed, std::move(payload));
  }
  advance(wfp);
}

TimeMs WorkflowEngine::park_until(std::chrono::milliseconds retry_after) {
  const TimeMs wait = std::clamp<TimeMs>(retry_after.count(), kMinParkMs, kMaxParkMs);
  return clock_.now_ms() + wait + std::uniform_int_distribution<TimeMs>(0, kMinParkMs)(random_);
}

void WorkflowEngine::execute_compensation(const WorkflowPtr& wfp) {
  Workflow& wf = *wfp;
  WorkflowState& st = *wf.state;
  const compensation::Compensation* c = st.compensations().next();
  if (!c) {
    wf.compensation_in_flight = false;
    return;
  }
  const std::size_t index = st.step_index(c->step_id);
  const PlannedStep& planned = st.plan().steps[index];
  Activity* activity = activities_.find(c->activity);
  std::weak_ptr<bool> alive = alive_;
  auto done = [this, alive, wfp, step_id = c->step_id, attempt = c->attempts](
                  ActivityOutcome outcome) {
    if (alive.expired()) return;
    on_compensation_done(wfp, step_id, attempt, std::move(outcome));
  };
  if (!activity) {
    done(ActivityOutcome::failure(ActivityOutcomeKind::retryable,
                                  "no activity registered as '" + c->activity + "'"));
    return;
  }
  const std::string key = st.workflow_id() + ":" + c->step_id + ":compensate";
  const std::string traceparent =
      traceparent_for(wf, WorkflowTracer::compensation_span_id(st, c->step_id, c->attempts));
  const auto output = st.outputs().find(c->step_id);
  ActivityRequest request{st.workflow_id(),
                          c->step_id,
                          c->attempts,
                          key,
                          planned.definition->timeout,
                          st.input(),
                          planned.item,
                          st.outputs(),
                          st.patches(),
                          output == st.outputs().end() ? kNullJson : output->second,
                          traceparent};
  activity->run(request, std::move(done));
}

void WorkflowEngine::on_compensation_done(const WorkflowPtr& wfp, std::string step_id,
                                          int attempt, ActivityOutcome outcome) {
  Workflow& wf = *wfp;
  wf.compensation_in_flight = false;
  WorkflowState& st = *wf.state;
  if (outcome.kind == ActivityOutcomeKind::unavailable) {
    // Never abandoned: wait for the service, without journaling the wait.
    wf.compensation_parked_until = park_until(outcome.retry_after);
    advance(wfp);
    return;
  }
  if (outcome.kind == ActivityOutcomeKind::ok) {
    if (metrics_) metrics_->compensation_run(to_string(st.unwind_reason()));
    emit(wf, RecordType::compensation_completed,
         step_payload(step_id, attempt, std::move(outcome.output)));
  } else {
    // Compensations are never abandoned: retry with capped backoff, forever.
    const RetryPolicy& policy = st.definition().compensation_retry;
    const auto delay = std::max(policy.delay_after(attempt), outcome.retry_after);
    emit(wf, RecordType::compensation_failed,
         {{"step", step_id},
          {"attempt", attempt},
          {"error", outcome.error},
          {"retry_at", clock_.now_ms() + delay.count()}});
  }
  advance(wfp);
}

void WorkflowEngine::on_finished(const WorkflowPtr& wfp) {
  Workflow& wf = *wfp;
  if (wf.finish_handled) return;
  wf.finish_handled = true;
  const WorkflowState& st = *wf.state;
  if (metrics_)
    metrics_->workflow_finished(st.definition().name, to_string(st.status()),
                                static_cast<double>(st.updated_ms() - st.created_ms()) / 1000.0);
  timers_.cancel(st.workflow_id());
  active_.erase(st.workflow_id());  // queries now read it back from the store
  if (metrics_) metrics_->workflows_resident(active_.size());
}

void WorkflowEngine::on_timer(const std::string& workflow_id) {
  std::string error;
  if (WorkflowPtr wf = resident(workflow_id, &error)) return advance(wf);
  if (error.empty() || damage(workflow_id)) return;  // finished meanwhile, or quarantined
  observability::log(observability::LogLevel::error, "workflow deadline missed",
                     {{"workflow_id", workflow_id}, {"error", error}});
  timers_.arm(workflow_id, clock_.now_ms() + kReadBackRetryMs);
}

}  // namespace orch::engine
