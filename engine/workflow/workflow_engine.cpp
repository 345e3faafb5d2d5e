#include "engine/workflow/workflow_engine.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <unistd.h>

#include "engine/common/digest.h"
#include "engine/json/json_object.h"
#include "engine/time/time_format.h"
#include "engine/workflow/workflow_tracer.h"
#include "observability/log.h"
#include "observability/metrics.h"
#include "engine/json/json_text.h"

namespace orch::engine {

using nlohmann::json;

namespace {
constexpr std::size_t kNpos = static_cast<std::size_t>(-1);
constexpr int kMaxDecideRounds = 16;
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

// {"step": id, "attempt": n}, the payload most records start from.
json step_payload(const std::string& step, int attempt) {
  return json_object("step", step, "attempt", attempt);
}
json step_payload(const std::string& step, int attempt, json output) {
  return json_object("step", step, "attempt", attempt, "output", std::move(output));
}

// Statuses in which a workflow waits for a human (a decision, a resume or a
// redrive) and may wait on disk. Only its approval deadline wakes it by itself.
const std::vector<std::string> kWaitingStatuses = {"awaiting_approval", "paused"};
bool waits_for_human(WorkflowStatus status) {
  return status == WorkflowStatus::awaiting_approval || status == WorkflowStatus::paused;
}
bool waits_for_human(const std::string& status) {
  return std::find(kWaitingStatuses.begin(), kWaitingStatuses.end(), status) !=
         kWaitingStatuses.end();
}

[[noreturn]] void fatal(const std::string& what) {
  // The journal is the source of truth: if it cannot be written, acting on
  // anything would break the durability contract. Stop, and let recovery
  // resume from what is durable (the same choice PostgreSQL makes on fsync
  // failure).
  std::fprintf(stderr,
               "{\"level\":\"fatal\",\"message\":\"journal failure, stopping\",\"error\":%s}\n",
               json(what).dump().c_str());
  std::fflush(stderr);
  std::abort();
}

std::string trace_id_from(const std::string& traceparent) {
  // version "-" trace-id(32 hex) "-" parent-id(16 hex) "-" flags
  if (traceparent.size() != 55 || traceparent[2] != '-' || traceparent[35] != '-' ||
      traceparent[52] != '-')
    return "";
  std::string id = traceparent.substr(3, 32);
  for (char c : id)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
  if (id == std::string(32, '0')) return "";
  return id;
}
}  // namespace

namespace {
// FNV-1a 64 of `text`, as 16 hex digits: a signal's fingerprint, and the
// input hash of summary rows written before input_hash was SHA-256.
std::string text_hash(std::string_view text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}
}  // namespace

std::string input_hash(const json& input) { return sha256_hex(dump_json(input)); }

namespace {
// Whether a summary row's input hash is that of `input`, whose input_hash()
// is `hash`. Rows written before the hash was SHA-256 hold FNV-1a's 16 hex
// digits: compared as such, they still answer a repeated start as before
// (the row takes the SHA-256 the next time the workflow's summary is
// written).
constexpr std::size_t kFnvInputHashDigits = 16;
bool same_input(const std::string& stored, const std::string& hash, const json& input) {
  if (stored.size() == kFnvInputHashDigits) return stored == text_hash(dump_json(input));
  return stored == hash;
}
}  // namespace

void DefinitionRegistry::add(WorkflowDefinition definition) {
  auto name = definition.name;
  definitions_[name] = std::make_unique<WorkflowDefinition>(std::move(definition));
}

const WorkflowDefinition* DefinitionRegistry::find(const std::string& name) const {
  auto it = definitions_.find(name);
  return it == definitions_.end() ? nullptr : it->second.get();
}

struct WorkflowEngine::Workflow {
  std::unique_ptr<WorkflowState> state;
  std::vector<JournalRecord> outbox;  // created, folded in, not yet committed
  std::set<std::size_t> in_flight;    // steps whose activity runs or is about to
  bool compensation_in_flight = false;
  std::string journaled_status;       // as last written to the summary row
  std::string journaled_phase;
  bool finish_handled = false;
  bool stalled = false;               // hit the record cap; reported, not driven
  // Steps and the compensation waiting for an unavailable service: when they
  // may try again. Deliberately not journaled (a parked step stays
  // "scheduled" in the journal; after a restart it simply tries again), so a
  // long outage costs no journal growth.
  std::map<std::size_t, TimeMs> parked;
  TimeMs compensation_parked_until = 0;
  // Steps scheduled before a restart whose attempt may have reached the
  // service: until one answers, an unwinding saga must wait for them.
  std::set<std::size_t> outcome_unknown;
  TimeMs wake_ms = 0;         // when advance() asked to be woken (0 = not)
  TimeMs journaled_wake = -1; // as last written to the summary row
  bool idle_noted = false;    // queued in idle_ for passivation
  std::string input_hash;     // of the input, for the summary row ("" = not yet)
};

WorkflowEngine::WorkflowEngine(boost::asio::io_context& io, Journal& journal, Clock& clock,
                               const DefinitionRegistry& definitions,
                               const ActivityRegistry& activities,
                               observability::Metrics* metrics, EngineLimits limits)
    : io_(io),
      journal_(journal),
      clock_(clock),
      definitions_(definitions),
      activities_(activities),
      metrics_(metrics),
      limits_(limits),
      timers_(io, clock, [this](const std::string& id) { on_timer(id); }),
      random_(std::random_device{}()),
      passivation_timer_(io, clock, [this](const std::string&) { passivate_idle(); }) {
  if (metrics_)
    definitions_.for_each([this](const WorkflowDefinition& def) {
      metrics_->declare_workflow(def.name);
      for (const PhaseDefinition& phase : def.phases) {
        metrics_->declare_phase(phase.name);
        for (const StepDefinition& step : phase.steps) {
          metrics_->declare_activity(step.activity);
          if (!step.compensation.empty()) metrics_->declare_activity(step.compensation);
        }
      }
    });
}

WorkflowEngine::~WorkflowEngine() { *alive_ = false; }

void WorkflowEngine::set_span_sink(observability::SpanSink* sink) {
  tracer_ = sink ? std::make_unique<WorkflowTracer>(*sink) : nullptr;
}

std::string WorkflowEngine::new_hex(std::size_t chars) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(chars);
  while (out.size() < chars) {
    std::uint64_t r = random_();
    for (int i = 0; i < 16 && out.size() < chars; ++i, r >>= 4) out.push_back(kHex[r & 0xF]);
  }
  return out;
}

std::string WorkflowEngine::traceparent_for(const Workflow& wf, const std::string& span_id) const {
  const std::string& trace = wf.state->trace_id();
  if (trace.empty()) return "";
  return observability::format_traceparent(trace, span_id);
}

// ---------------------------------------------------------------- journal

void WorkflowEngine::emit(Workflow& wf, RecordType type, json payload) {
  JournalRecord r;
  r.workflow_id = wf.state->workflow_id();
  r.seq = wf.state->last_seq() + 1;
  r.type = type;
  r.time_ms = clock_.now_ms();
  r.payload = dump_json(payload);
  const WorkflowTracer::Before before =
      tracer_ ? WorkflowTracer::before(*wf.state, type, payload) : WorkflowTracer::Before{};
  if (Status s = wf.state->apply(r, payload); !s)
    fatal("engine produced an invalid record: " + s.message());
  if (record_observer_) record_observer_(*wf.state, r);
  log_transition(*wf.state, r, payload);
  if (tracer_) tracer_->on_record(*wf.state, r, payload, before, wf.state->trace_parent());
  wf.outbox.push_back(std::move(r));
}

// One structured line per transition. Payloads hold step outputs and user
// input, so only chosen fields are logged; errors come from adapters, which
// never put tokens in them.
void WorkflowEngine::log_transition(const WorkflowState& st, const JournalRecord& r,
                                    const json& payload) {
  using observability::LogLevel;
  LogLevel level = LogLevel::debug;
  switch (r.type) {
    case RecordType::workflow_started:
    case RecordType::workflow_finished:
    case RecordType::signal_received:
    case RecordType::cancel_requested:
    case RecordType::compensation_completed:
    case RecordType::approval_escalated:
    case RecordType::step_reset:
    case RecordType::workflow_paused:
    case RecordType::workflow_resumed:
      level = LogLevel::info;
      break;
    case RecordType::step_failed:
    case RecordType::compensation_failed:
    case RecordType::approval_timed_out:
    case RecordType::history_limit_reached:
      level = LogLevel::warn;
      break;
    default:
      break;
  }
  if (!observability::log_enabled(level)) return;
  json fields = {{"workflow_id", st.workflow_id()},
                 {"workflow", st.definition().name},
                 {"phase", st.current_phase_name()},
                 {"status", to_string(st.status())},
                 {"seq", r.seq},
                 {"trace_id", st.trace_id()},
                 {"span_id", WorkflowTracer::span_of(st, r.type, payload)}};
  if (payload.contains("step")) {
    const std::size_t i = st.step_index(payload["step"].get<std::string>());
    fields["step"] = payload["step"];
    if (i != kNpos) fields["activity_name"] = st.plan().steps[i].definition->activity;
  }
  if (payload.contains("attempt")) fields["attempt"] = payload["attempt"];
  if (payload.contains("error")) fields["error"] = payload["error"];
  if (payload.contains("retry_at")) fields["retry_at"] = format_time(payload["retry_at"].get<TimeMs>());
  if (r.type == RecordType::signal_received) fields["signal"] = payload.value("name", "");
  if (r.type == RecordType::workflow_finished) {
    fields["reason"] = st.failure_reason();
    fields["duration_seconds"] = static_cast<double>(r.time_ms - st.created_ms()) / 1000.0;
  }
  observability::log(level, to_string(r.type), fields);
}

// A new workflow's row is copied (or moved, at recovery); a later row only
// updates what changes, without copying its identity strings.
template <class Summary>
void WorkflowEngine::remember_summary(Summary&& summary) {
  auto it = summary_index_.find(summary.workflow_id);
  if (it == summary_index_.end()) {
    summary_index_.emplace(summary.workflow_id, summaries_.size());
    if (!summary.idempotency_key.empty())
      by_idempotency_key_.emplace(summary.idempotency_key, summary.workflow_id);
    summaries_.push_back(std::forward<Summary>(summary));
  } else {
    summaries_[it->second].update_from(summary);
  }
}

void WorkflowEngine::commit(const WorkflowPtr& wfp, std::function<void()> after_durable) {
  Workflow& wf = *wfp;
  const WorkflowState& st = *wf.state;
  if (wf.input_hash.empty()) wf.input_hash = input_hash(st.input());
  std::vector<WorkflowSummary> summaries;
  const std::string status = to_string(st.status());
  const std::string phase = st.current_phase_name();
  // Only a workflow that may wait on disk needs its wake-up kept.
  const TimeMs wake = waits_for_human(st.status()) ? wf.wake_ms : 0;
  if (status != wf.journaled_status || phase != wf.journaled_phase || wake != wf.journaled_wake) {
    if (metrics_) {
      metrics_->active_transition(wf.journaled_status, wf.journaled_phase,
                                  is_terminal(st.status()) ? std::string() : status, phase);
    }
    WorkflowSummary row{st.workflow_id(), st.run_id(),  st.definition().name,
                        status,           phase,        st.created_ms(),
                        st.updated_ms(),  st.idempotency_key(), wf.input_hash,
                        wake,             /*stored=*/!wf.journaled_status.empty()};
    remember_summary(row);
    summaries.push_back(std::move(row));
    wf.journaled_wake = wake;
  }
  const bool status_changed = status != wf.journaled_status || phase != wf.journaled_phase;
  wf.journaled_status = status;
  wf.journaled_phase = phase;
  std::weak_ptr<bool> alive = alive_;
  journal_.append(std::move(wf.outbox), std::move(summaries),
                  [this, alive, wfp, status_changed,
                   after = std::move(after_durable)](const Status& s) {
                    if (!s) fatal(s.message());
                    if (alive.expired()) return;
                    if (status_changed) notify_status(wfp);
                    after();
                  });
  wf.outbox.clear();
}

// ---------------------------------------------------------------- decisions

void WorkflowEngine::advance(const WorkflowPtr& wfp) {
  Workflow& wf = *wfp;
  if (is_terminal(wf.state->status()) || wf.stalled) return;
  // Outbox records are already folded into the state: last_seq() counts them.
  if (wf.state->last_seq() >= limits_.max_records_per_workflow) {
    wf.stalled = true;
    std::fprintf(stderr,
                 "{\"level\":\"error\",\"message\":\"workflow stalled at its journal cap\","
                 "\"workflow_id\":%s,\"limit\":%llu}\n",
                 json(wf.state->workflow_id()).dump().c_str(),
                 static_cast<unsigned long long>(limits_.max_records_per_workflow));
    if (!wf.outbox.empty()) commit(wfp, [] {});
    return;
  }
  if (wf.state->last_seq() >= limits_.unwind_threshold() &&
      wf.state->unwind_reason() == UnwindReason::none)
    emit(wf, RecordType::history_limit_reached, {{"limit", limits_.max_records_per_workflow}});
  std::set<std::size_t> run_steps;
  bool run_compensation = false;
  TimeMs wake = 0;
  const TimeMs now = clock_.now_ms();
  for (int round = 0; round < kMaxDecideRounds &&
                     wf.state->last_seq() < limits_.max_records_per_workflow;
       ++round) {
    const std::size_t before = wf.outbox.size();
    const bool comp_before = run_compensation;
    const std::size_t steps_before = run_steps.size();
    wake = 0;
    decide(wf, now, run_steps, run_compensation, wake);
    if (wf.outbox.size() == before && comp_before == run_compensation &&
        steps_before == run_steps.size())
      break;
    if (is_terminal(wf.state->status())) break;
  }
  if (wake) timers_.arm(wf.state->workflow_id(), wake);
  wf.wake_ms = wake;
  auto act = [this, wfp, run_steps = std::move(run_steps), run_compensation] {
    for (std::size_t i : run_steps) execute_step(wfp, i);
    if (run_compensation) execute_compensation(wfp);
    if (is_terminal(wfp->state->status())) on_finished(wfp);
  };
  if (!wf.outbox.empty())
    commit(wfp, std::move(act));
  else
    act();
  note_idle(wf);
}

// ---------------------------------------------------------------- passivation

void WorkflowEngine::note_idle(Workflow& wf) {
  if (limits_.passivate_after_ms < 0 || wf.idle_noted || !waits_for_human(wf.state->status()))
    return;
  wf.idle_noted = true;
  const TimeMs now = clock_.now_ms();
  idle_.emplace_back(now, wf.state->workflow_id());
  if (idle_.size() == 1) passivation_timer_.arm("idle", now + limits_.passivate_after_ms);
}

bool WorkflowEngine::passivable(const WorkflowPtr& wfp) const {
  const Workflow& wf = *wfp;
  // Held only by active_: no commit, activity, compensation or callback is
  // pending, so everything it did is durable and nothing will touch it.
  return wfp.use_count() == 1 && waits_for_human(wf.state->status()) && wf.outbox.empty() &&
         wf.in_flight.empty() && !wf.compensation_in_flight && wf.parked.empty() &&
         !wf.compensation_parked_until && wf.outcome_unknown.empty() && !wf.stalled &&
         !wf.finish_handled;
}

void WorkflowEngine::passivate_idle() {
  const TimeMs now = clock_.now_ms();
  const TimeMs after = limits_.passivate_after_ms;
  // Entries put back below are not looked at again in this pass.
  for (std::size_t n = idle_.size(); n > 0 && !idle_.empty() && idle_.front().first + after <= now;
       --n) {
    std::string id = std::move(idle_.front().second);
    idle_.pop_front();
    auto it = active_.find(id);
    if (it == active_.end()) continue;
    Workflow& wf = *it->second;
    wf.idle_noted = false;
    if (!waits_for_human(wf.state->status())) continue;  // moved on
    const TimeMs last = std::max(wf.state->updated_ms(), now - after);
    if (last + after > now || !passivable(it->second)) {  // busy again: look later
      wf.idle_noted = true;
      idle_.emplace_back(last + after > now ? last : now, std::move(id));
      continue;
    }
    // Its timer (an approval deadline) stays armed: on_timer reads it back.
    active_.erase(it);
    passive_.insert(std::move(id));
    if (metrics_) metrics_->workflow_passivated();
  }
  if (metrics_) metrics_->workflows_resident(active_.size());
  if (!idle_.empty())
    passivation_timer_.arm("idle", std::max(idle_.front().first + after, now + 1));
}

WorkflowEngine::WorkflowPtr WorkflowEngine::resident(const std::string& workflow_id,
                                                     std::string* error) {
  if (auto it = active_.find(workflow_id); it != active_.end()) return it->second;
  if (const std::string* why = damage(workflow_id)) {
    *error = *why;
    return nullptr;
  }
  auto p = passive_.find(workflow_id);
  if (p == passive_.end()) return nullptr;
  auto state = read_back(workflow_id, error);
  if (!state) return nullptr;
  WorkflowPtr wf = resume(std::move(state));
  passive_.erase(p);
  active_.emplace(workflow_id, wf);
  if (metrics_) {
    metrics_->workflow_read_back();
    metrics_->workflows_resident(active_.size());
  }
  return wf;
}

WorkflowEngine::WorkflowPtr WorkflowEngine::resume(std::unique_ptr<WorkflowState> state) const {
  auto wf = std::make_shared<Workflow>();
  wf->state = std::move(state);
  const WorkflowSummary& row = summaries_[summary_index_.at(wf->state->workflow_id())];
  wf->journaled_status = row.status;
  wf->journaled_phase = row.phase;
  wf->journaled_wake = row.wake_ms;
  for (std::size_t i = 0; i < wf->state->step_count(); ++i)
    if (wf->state->step(i).status == StepStatus::scheduled) wf->outcome_unknown.insert(i);
  return wf;
}

void WorkflowEngine::decide(Workflow& wf, TimeMs now, std::set<std::size_t>& run_steps,
                            bool& run_compensation, TimeMs& wake) {
  WorkflowState& st = *wf.state;
  const WorkflowDefinition& def = st.definition();
  auto note_wake = [&](TimeMs t) {
    if (!wake || t < wake) wake = t;
  };

  if (st.unwind_reason() != UnwindReason::none) {
    // Let every step that may have acted finish first, so its side effect is
    // known and, if it completed, compensated too. A step scheduled before a
    // crash runs once more (same idempotency key) to learn its outcome.
    // A step refused by an open breaker waits for its service here too: its
    // real outcome (perhaps a side effect from before a crash) must be known.
    bool busy = false;
    for (std::size_t i = 0; i < st.step_count(); ++i) {
      if (st.step(i).status != StepStatus::scheduled) continue;
      busy = true;
      if (wf.in_flight.count(i)) continue;
      if (auto parked = wf.parked.find(i); parked != wf.parked.end()) {
        if (now < parked->second) {
          note_wake(parked->second);
          continue;
        }
        if (metrics_)
          metrics_->step_waiting_for_service(st.plan().steps[i].definition->activity, -1);
        wf.parked.erase(parked);
      }
      wf.in_flight.insert(i);
      run_steps.insert(i);
    }
    if (busy || wf.compensation_in_flight) return;
    const compensation::Compensation* c = st.compensations().next();
    if (!c) {
      const WorkflowStatus final_status = st.unwind_reason() == UnwindReason::cancelled
                                              ? WorkflowStatus::cancelled
                                              : WorkflowStatus::failed;
      emit(wf, RecordType::workflow_finished,
           {{"status", to_string(final_status)}, {"reason", st.failure_reason()}});
      return;
    }
    switch (c->status) {
      case compensation::CompensationStatus::pending:
        emit(wf, RecordType::compensation_scheduled, step_payload(c->step_id, 1));
        wf.compensation_in_flight = run_compensation = true;
        break;
      case compensation::CompensationStatus::running:  // recovered, or parked
        if (now < wf.compensation_parked_until) {
          note_wake(wf.compensation_parked_until);
        } else {
          wf.compensation_parked_until = 0;
          wf.compensation_in_flight = run_compensation = true;
        }
        break;
      case compensation::CompensationStatus::retry_wait:
        if (now >= c->retry_at_ms) {
          emit(wf, RecordType::compensation_scheduled,
               step_payload(c->step_id, c->attempts + 1));
          wf.compensation_in_flight = run_compensation = true;
        } else {
          note_wake(c->retry_at_ms);
        }
        break;
      case compensation::CompensationStatus::completed:
        break;
    }
    return;
  }

  if (now < st.not_before_ms()) {  // schedule_time: not yet
    note_wake(st.not_before_ms());
    return;
  }
  if (st.status() == WorkflowStatus::paused) return;  // until an operator redrives it
  const std::size_t p = st.current_phase();
  if (p >= def.phases.size()) {
    emit(wf, RecordType::workflow_finished, {{"status", "completed"}});
    return;
  }
  const PhaseDefinition& phase = def.phases[p];
  auto [begin, end] = st.plan().phase_ranges[p];
  for (std::size_t i = begin; i < end; ++i) {
    const StepState& s = st.step(i);
    if (s.status == StepStatus::completed) continue;
    const std::string& id = st.plan().steps[i].id;
    switch (s.status) {
      case StepStatus::pending:
        emit(wf, RecordType::step_scheduled, step_payload(id, 1));
        wf.in_flight.insert(i);
        run_steps.insert(i);
        break;
      case StepStatus::scheduled:
        if (wf.in_flight.count(i)) break;
        if (auto parked = wf.parked.find(i); parked != wf.parked.end()) {
          if (now < parked->second) {  // waiting for its service
            note_wake(parked->second);
            break;
          }
          if (metrics_)
            metrics_->step_waiting_for_service(st.plan().steps[i].definition->activity, -1);
          wf.parked.erase(parked);
        }
        wf.in_flight.insert(i);  // parked, or scheduled before a restart
        run_steps.insert(i);
        break;
      case StepStatus::retry_wait:
        if (now >= s.retry_at_ms) {
          emit(wf, RecordType::step_scheduled, step_payload(id, s.attempts + 1));
          wf.in_flight.insert(i);
          run_steps.insert(i);
        } else {
          note_wake(s.retry_at_ms);
        }
        break;
      case StepStatus::completed:
      case StepStatus::failed:
        break;
    }
    if (phase.mode == PhaseMode::sequential) break;
  }
  if (phase.gate && st.phase_steps_done(p) && !st.gate_approved()) {
    const TimeMs deadline = st.approval_deadline_ms();
    const json* second_line = nullptr;
    if (!phase.gate->escalation_reviewers_pointer.empty()) {
      json::json_pointer ptr(phase.gate->escalation_reviewers_pointer);
      if (st.input().contains(ptr) && st.input().at(ptr).is_array() && !st.input().at(ptr).empty())
        second_line = &st.input().at(ptr);
    }
    if (deadline && now >= deadline && second_line && !st.escalated_ms())
      emit(wf, RecordType::approval_escalated, {{"deadline", deadline}, {"reviewers", *second_line}});
    else if (deadline && now >= deadline)
      emit(wf, RecordType::approval_timed_out, {{"deadline", deadline}});
    else if (deadline)
      note_wake(deadline);
  }
}

// ---------------------------------------------------------------- execution

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

// ---------------------------------------------------------------- commands

void WorkflowEngine::start(StartRequest request, std::function<void(StartResult)> done) {
  const WorkflowDefinition* def = definitions_.find(request.definition);
  if (!def) {
    done({StartCode::invalid, "", "", "", "unknown workflow definition " + request.definition});
    return;
  }
  const std::string hash = input_hash(request.input);
  auto reply_existing = [&](const WorkflowSummary& s) {
    if (!same_input(s.input_hash, hash, request.input) || s.definition != request.definition) {
      done({StartCode::conflict, s.workflow_id, s.run_id, s.status,
            "workflow " + s.workflow_id + " already exists with a different input"});
      return;
    }
    // Answer only once the existing workflow's start is durable.
    StartResult result{StartCode::existing, s.workflow_id, s.run_id, s.status, ""};
    journal_.flush([done = std::move(done), result](const Status&) { done(result); });
  };
  if (!request.idempotency_key.empty()) {
    auto k = by_idempotency_key_.find(request.idempotency_key);
    if (k != by_idempotency_key_.end()) return reply_existing(summaries_[summary_index_[k->second]]);
  }
  if (!request.workflow_id.empty()) {
    if (const WorkflowSummary* s = summary(request.workflow_id)) return reply_existing(*s);
  }
  const std::string id = request.workflow_id.empty() ? "wf-" + new_hex(20) : request.workflow_id;
  std::string trace_id = trace_id_from(request.traceparent);
  std::string trace_parent;  // the caller's span: parent of the workflow's span
  if (auto caller = observability::parse_traceparent(request.traceparent);
      caller && !trace_id.empty())
    trace_parent = caller->parent_span_id;
  if (trace_id.empty()) trace_id = new_hex(32);
  JournalRecord started;
  started.workflow_id = id;
  started.seq = 1;
  started.type = RecordType::workflow_started;
  started.time_ms = clock_.now_ms();
  json payload = json_object("definition", def->name,
                             "version", def->version,
                             "input", std::move(request.input),
                             "run_id", new_hex(32),
                             "idempotency_key", request.idempotency_key,
                             "trace_id", trace_id,
                             "trace_parent", trace_parent);
  // Who started it, for the audit trail.
  if (!request.actor.is_null()) payload["actor"] = std::move(request.actor);
  started.payload = dump_json(payload);
  std::string error;
  auto state = WorkflowState::start(started, std::move(payload), *def, &error);
  if (!state) {
    done({StartCode::invalid, "", "", "", error});
    return;
  }
  auto wf = std::make_shared<Workflow>();
  wf->state = std::move(state);
  wf->input_hash = hash;
  if (record_observer_) record_observer_(*wf->state, started);
  log_transition(*wf->state, started, json::object());
  wf->outbox.push_back(std::move(started));
  active_.emplace(id, wf);
  if (metrics_) metrics_->workflows_resident(active_.size());
  if (metrics_) metrics_->workflow_started(def->name);
  advance(wf);  // commits workflow_started with the first scheduled steps
  StartResult result{StartCode::created, id, wf->state->run_id(), "running", ""};
  journal_.flush([done = std::move(done), result](const Status&) { done(result); });
}

void WorkflowEngine::signal(const std::string& workflow_id, const std::string& name, json payload,
                            const std::string& idempotency_key,
                            std::function<void(SignalResult)> done) {
  const std::string text = dump_json(payload);
  if (text.size() > limits_.max_signal_payload_bytes)
    return done({SignalCode::too_large, "the " + name + " signal's payload is " +
                                            std::to_string(text.size()) + " bytes; at most " +
                                            std::to_string(limits_.max_signal_payload_bytes) +
                                            " are journaled"});
  // An idempotency key stands for one request: the same signal with the
  // same body from the same identity (the actor is in the payload).
  const std::string fingerprint =
      idempotency_key.empty() ? std::string() : sha256_hex(name + '\n' + text);
  std::string error;
  WorkflowPtr wf = resident(workflow_id, &error);
  if (!wf && error.empty() && !fingerprint.empty() && summary(workflow_id)) {
    // Finished: a repeat of a signal it took still answers as the first did.
    if (auto finished = read_back(workflow_id, &error);
        finished && answered_repeat(*finished, idempotency_key, fingerprint, done))
      return;
  }
  if (!wf) return reply_inactive(workflow_id, error, done);
  WorkflowState& st = *wf->state;
  const WorkflowDefinition& def = st.definition();
  if (!fingerprint.empty() && answered_repeat(st, idempotency_key, fingerprint, done)) return;
  if (st.last_seq() >= limits_.unwind_threshold())
    return done({SignalCode::conflict, "workflow " + workflow_id + " has reached its journal cap of " +
                                           std::to_string(limits_.max_records_per_workflow) +
                                           " records"});
  bool known = false;
  for (std::size_t p = 0; p < def.phases.size() && !known; ++p) {
    const auto& gate = def.phases[p].gate;
    if (!gate || (name != gate->approve_signal && name != gate->reject_signal)) continue;
    known = true;
    if (SignalResult refused = validate_decision(st, p, name == gate->approve_signal, payload);
        refused.code != SignalCode::accepted)
      return done(refused);
    payload["level"] = st.approval_policy().levels[st.current_level()].name;
  }
  for (const PatchSignalDefinition& patch : def.patch_signals) {
    if (known || name != patch.name) continue;
    known = true;
    if (st.unwind_reason() != UnwindReason::none)
      return done({SignalCode::conflict, "workflow " + workflow_id + " is " +
                                             to_string(st.status())});
    if (st.phase_started(patch.before_phase))
      return done({SignalCode::conflict, "workflow " + workflow_id + " has already started " +
                                             patch.before_phase + "; " + name + " is too late"});
    const json& key = payload.contains(patch.key_field) ? payload[patch.key_field] : json();
    if (!key.is_string() || !payload.contains(patch.value_field))
      return done({SignalCode::invalid, name + " needs " + patch.key_field + " and " +
                                            patch.value_field});
    if (!patch.allowed_keys.empty() &&
        std::find(patch.allowed_keys.begin(), patch.allowed_keys.end(), key.get<std::string>()) ==
            patch.allowed_keys.end())
      return done({SignalCode::invalid,
                   patch.key_field + " '" + key.get<std::string>() + "' is not one of the workflow's"});
  }
  if (!known) return done({SignalCode::unknown_signal, "workflow " + def.name + " has no signal " + name});
  json record = {{"name", name}, {"payload", std::move(payload)}, {"key", idempotency_key}};
  if (!fingerprint.empty()) record["fingerprint"] = std::move(fingerprint);
  emit(*wf, RecordType::signal_received, std::move(record));
  advance(wf);
  journal_.flush([done = std::move(done)](const Status&) { done({SignalCode::accepted, ""}); });
}

bool WorkflowEngine::answered_repeat(const WorkflowState& st, const std::string& key,
                                     const std::string& fingerprint,
                                     std::function<void(SignalResult)>& done) {
  const std::string* first = st.signal_key_fingerprint(key);
  if (!first) return false;
  // "" : journaled before keys were bound to their request; a repeat then.
  if (!first->empty() && *first != fingerprint) {
    done({SignalCode::key_reused, "Idempotency-Key was already used on workflow " +
                                      st.workflow_id() +
                                      " for a different request (another signal, body or identity)"});
    return true;
  }
  journal_.flush([done = std::move(done)](const Status&) { done({SignalCode::duplicate, ""}); });
  return true;
}

WorkflowEngine::WorkflowPtr WorkflowEngine::active_or_reply(
    const std::string& workflow_id, const std::function<void(SignalResult)>& done) {
  std::string error;
  if (WorkflowPtr wf = resident(workflow_id, &error)) return wf;
  reply_inactive(workflow_id, error, done);
  return nullptr;
}

void WorkflowEngine::reply_inactive(const std::string& workflow_id, const std::string& error,
                                    const std::function<void(SignalResult)>& done) {
  if (const std::string* why = damage(workflow_id)) {
    done({SignalCode::damaged, *why});
  } else if (!error.empty()) {
    observability::log(observability::LogLevel::error, "workflow read back failed",
                       {{"workflow_id", workflow_id}, {"error", error}});
    done({SignalCode::unavailable, error});
  } else if (const WorkflowSummary* s = summary(workflow_id))
    done({SignalCode::conflict, "workflow " + workflow_id + " is already " + s->status +
                                    "; it accepts no more commands"});
  else
    done({SignalCode::not_found, "no workflow " + workflow_id});
}

void WorkflowEngine::cancel(const std::string& workflow_id, const std::string& reason,
                            std::function<void(SignalResult)> done) {
  cancel(workflow_id, reason, json(), std::move(done));
}

void WorkflowEngine::cancel(const std::string& workflow_id, const std::string& reason,
                            json actor, std::function<void(SignalResult)> done) {
  WorkflowPtr wf = active_or_reply(workflow_id, done);
  if (!wf) return;
  if (wf->state->unwind_reason() != UnwindReason::none)
    return done({SignalCode::conflict, "workflow " + workflow_id + " is already " +
                                           to_string(wf->state->status()) + ": " +
                                           wf->state->failure_reason()});
  json record = {{"reason", reason}};
  if (!actor.is_null()) record["actor"] = std::move(actor);
  emit(*wf, RecordType::cancel_requested, std::move(record));
  advance(wf);
  journal_.flush([done = std::move(done)](const Status&) { done({SignalCode::accepted, ""}); });
}

void WorkflowEngine::redrive(const std::string& workflow_id, const std::string& reason,
                             std::function<void(SignalResult)> done) {
  WorkflowPtr wf = active_or_reply(workflow_id, done);
  if (!wf) return;
  const WorkflowState& st = *wf->state;
  if (st.status() != WorkflowStatus::paused || st.paused_step() == kNpos)
    return done({SignalCode::conflict, "workflow " + workflow_id + " is " +
                                           to_string(st.status()) +
                                           (st.held() ? " by an operator (resume it)"
                                                      : ", not paused by a failed step")});
  emit(*wf, RecordType::step_reset,
       {{"step", st.plan().steps[st.paused_step()].id}, {"reason", reason}});
  advance(wf);
  journal_.flush([done = std::move(done)](const Status&) { done({SignalCode::accepted, ""}); });
}

SignalResult WorkflowEngine::validate_decision(const WorkflowState& st, std::size_t gate_phase,
                                              bool approve, const json& payload) const {
  const WorkflowDefinition& def = st.definition();
  const std::string& id = st.workflow_id();
  if (st.unwind_reason() != UnwindReason::none)
    return {SignalCode::conflict,
            "workflow " + id + " is " + to_string(st.status()) + ": " + st.failure_reason()};
  if (st.current_phase() > gate_phase || st.gate_approved())
    return {SignalCode::conflict,
            "the " + def.phases[gate_phase].name + " phase of workflow " + id + " is already decided"};
  const ApprovalPolicy& policy = st.approval_policy();
  const std::size_t level = st.current_level();
  const std::string& level_name = policy.levels[level].name;
  const std::string reviewer = payload.value("reviewer", "");
  if (!st.reviewer_of(level, reviewer)) {
    for (std::size_t other = 0; other < policy.levels.size(); ++other)
      if (other != level && st.reviewer_of(other, reviewer))
        return {SignalCode::forbidden, "reviewer '" + reviewer + "' decides at level '" +
                                           policy.levels[other].name +
                                           "'; workflow " + id + " waits for level '" +
                                           level_name + "'"};
    return {SignalCode::forbidden,
            "reviewer '" + reviewer + "' is not a reviewer of workflow " + id};
  }
  if (approve && !policy.allow_self_approval && !policy.submitter.empty() &&
      reviewer == policy.submitter)
    return {SignalCode::forbidden,
            "reviewer '" + reviewer + "' submitted workflow " + id + " and may not approve it"};
  if (approve && st.has_approved(level, reviewer))
    return {SignalCode::conflict, "reviewer '" + reviewer + "' has already approved level '" +
                                      level_name + "' of workflow " + id};
  return {SignalCode::accepted, ""};
}

void WorkflowEngine::hold(const std::string& workflow_id, bool pause, const std::string& reason,
                          json actor, std::function<void(SignalResult)> done) {
  WorkflowPtr wf = active_or_reply(workflow_id, done);
  if (!wf) return;
  const WorkflowState& st = *wf->state;
  const WorkflowDefinition& def = st.definition();
  if (st.unwind_reason() != UnwindReason::none)
    return done({SignalCode::conflict, "workflow " + workflow_id + " is " +
                                           to_string(st.status()) + ": " + st.failure_reason()});
  if (pause) {
    if (st.held())
      return done({SignalCode::conflict, "workflow " + workflow_id + " is already paused"});
    if (std::none_of(def.phases.begin(), def.phases.end(),
                     [&](const PhaseDefinition& p) { return p.name == def.pausable_before_phase; }))
      return done({SignalCode::conflict, "workflow " + def.name + " cannot be paused"});
    if (st.phase_started(def.pausable_before_phase))
      return done({SignalCode::conflict, "workflow " + workflow_id + " has already started " +
                                             def.pausable_before_phase +
                                             "; it can be paused only before"});
  } else if (!st.held()) {
    return done({SignalCode::conflict, "workflow " + workflow_id + " is " +
                                           to_string(st.status()) + ", not paused by an operator"});
  }
  json record = {{"reason", reason}};
  if (!actor.is_null()) record["actor"] = std::move(actor);
  emit(*wf, pause ? RecordType::workflow_paused : RecordType::workflow_resumed, std::move(record));
  advance(wf);
  journal_.flush([done = std::move(done)](const Status&) { done({SignalCode::accepted, ""}); });
}

// ---------------------------------------------------------------- recovery

std::unique_ptr<WorkflowState> WorkflowEngine::rebuild(const std::vector<JournalRecord>& records,
                                                       std::string* error) const {
  if (records.empty()) {
    *error = "no records";
    return nullptr;
  }
  json started = json::parse(records.front().payload, nullptr, false);
  const std::string name = started.is_object() ? started.value("definition", "") : "";
  const WorkflowDefinition* def = definitions_.find(name);
  if (!def) {
    *error = "workflow " + records.front().workflow_id + " uses unknown definition '" + name + "'";
    return nullptr;
  }
  auto state = WorkflowState::start(records.front(), std::move(started), *def, error);
  if (!state) return nullptr;
  for (std::size_t i = 1; i < records.size(); ++i) {
    if (Status s = state->apply(records[i]); !s) {
      *error = s.message();
      return nullptr;
    }
  }
  return state;
}

Status WorkflowEngine::recover() {
  std::vector<WorkflowSummary> rows;
  if (Status s = journal_.store().load_summaries(&rows); !s) return s;
  // A workflow that waits for a human stays on disk (see EngineLimits) when
  // its summary knows its wake-up; only its deadline, if any, is armed.
  const bool lazy = limits_.passivate_after_ms >= 0;
  for (WorkflowSummary& row : rows) {
    const bool unfinished = !damage(row.workflow_id) && row.status != "completed" &&
                            row.status != "failed" && row.status != "cancelled";
    if (unfinished && metrics_) metrics_->active_transition("", "", row.status, row.phase);
    if (unfinished && lazy && row.wake_ms >= 0 && waits_for_human(row.status)) {
      if (row.wake_ms > 0) timers_.arm(row.workflow_id, row.wake_ms);
      passive_.insert(row.workflow_id);
    }
    remember_summary(std::move(row));
  }
  // A damaged workflow is quarantined; the others carry on.
  std::vector<WorkflowPtr> resumed;
  Status s = journal_.store().load_unfinished(
      [&](std::vector<JournalRecord>&& records) {
        if (damage(records.front().workflow_id)) return;
        std::string error;
        auto state = rebuild(records, &error);
        if (!state) return quarantine(records.front().workflow_id, "cannot rebuild: " + error);
        WorkflowPtr wf = resume(std::move(state));
        active_.emplace(wf->state->workflow_id(), wf);
        resumed.push_back(std::move(wf));
      },
      lazy ? kWaitingStatuses : std::vector<std::string>{},
      [&](const std::string& workflow_id, const Status& why) {
        quarantine(workflow_id, why.message());
      });
  if (!s) return s;
  if (metrics_) metrics_->workflows_resident(active_.size());
  for (const WorkflowPtr& wf : resumed) advance(wf);
  return Status::ok();
}

std::unique_ptr<WorkflowState> WorkflowEngine::read_back(const std::string& workflow_id,
                                                         std::string* error) {
  std::string ignored;
  if (!error) error = &ignored;
  std::vector<JournalRecord> records;
  if (Status s = journal_.store().load_workflow(workflow_id, &records); !s) {
    *error = "cannot read workflow " + workflow_id + " back from the journal: " + s.message();
    if (s.is_corruption()) quarantine(workflow_id, s.message());
    return nullptr;
  }
  auto state = rebuild(records, error);
  if (!state) {
    *error = "cannot rebuild workflow " + workflow_id + ": " + *error;
    quarantine(workflow_id, *error);
  }
  return state;
}

void WorkflowEngine::quarantine(const std::string& workflow_id, const std::string& why) {
  if (!damaged_.emplace(workflow_id, why).second) return;
  observability::log(observability::LogLevel::error, "workflow quarantined: its journal is damaged",
                     {{"workflow_id", workflow_id}, {"error", why}});
  passive_.erase(workflow_id);
  timers_.cancel(workflow_id);
  if (metrics_) {
    metrics_->workflows_corrupt(damaged_.size());
    const WorkflowSummary* row = summary(workflow_id);
    if (row && row->status != "completed" && row->status != "failed" && row->status != "cancelled")
      metrics_->active_transition(row->status, row->phase, "", "");
  }
}

const std::string* WorkflowEngine::damage(const std::string& workflow_id) const {
  auto it = damaged_.find(workflow_id);
  return it == damaged_.end() ? nullptr : &it->second;
}

std::vector<std::string> WorkflowEngine::damaged_ids(std::size_t max) const {
  std::vector<std::string> ids;
  for (auto it = damaged_.begin(); it != damaged_.end() && ids.size() < max; ++it)
    ids.push_back(it->first);
  return ids;
}

// ---------------------------------------------------------------- retention

void WorkflowEngine::forget_summaries(const std::vector<std::string>& workflow_ids) {
  std::set<std::string> gone(workflow_ids.begin(), workflow_ids.end());
  std::vector<WorkflowSummary> kept;
  kept.reserve(summaries_.size());
  for (WorkflowSummary& s : summaries_) {
    if (gone.count(s.workflow_id)) {
      if (!s.idempotency_key.empty()) by_idempotency_key_.erase(s.idempotency_key);
      continue;
    }
    kept.push_back(std::move(s));
  }
  summaries_ = std::move(kept);
  summary_index_.clear();
  for (std::size_t i = 0; i < summaries_.size(); ++i)
    summary_index_.emplace(summaries_[i].workflow_id, i);
}

void WorkflowEngine::purge_finished(TimeMs cutoff_ms, std::size_t max,
                                    const std::string& archive_path,
                                    std::function<void(Status, std::size_t)> done) {
  std::vector<std::string> ids;
  for (const WorkflowSummary& s : summaries_) {
    if (ids.size() >= max) break;
    if (s.updated_ms < cutoff_ms && !active_.count(s.workflow_id) &&
        (s.status == "completed" || s.status == "failed" || s.status == "cancelled"))
      ids.push_back(s.workflow_id);
  }
  if (ids.empty()) return done(Status::ok(), 0);
  if (!archive_path.empty()) {
    // Archive first, durably: one JSON line per workflow with its journal.
    FILE* out = std::fopen(archive_path.c_str(), "a");
    if (!out) return done(Status::error("cannot open archive " + archive_path), 0);
    for (const std::string& id : ids) {
      std::vector<JournalRecord> records;
      if (Status s = journal_.store().load_workflow(id, &records); !s) {
        std::fclose(out);
        return done(s, 0);
      }
      json line = {{"workflow_id", id}, {"summary_status", summary(id)->status}};
      json recs = json::array();
      for (const JournalRecord& r : records)
        recs.push_back({{"seq", r.seq},
                        {"type", to_string(r.type)},
                        {"time_ms", r.time_ms},
                        {"payload", json::parse(r.payload, nullptr, false)}});
      line["records"] = std::move(recs);
      const std::string text = line.dump() + "\n";
      std::fwrite(text.data(), 1, text.size(), out);
    }
    const bool written = std::fflush(out) == 0 && ::fsync(fileno(out)) == 0;
    std::fclose(out);
    if (!written) return done(Status::error("cannot write archive " + archive_path), 0);
  }
  std::weak_ptr<bool> alive = alive_;
  journal_.run_on_writer(
      [ids](JournalStore& store) { return store.delete_workflows(ids); },
      [this, alive, ids, done = std::move(done)](const Status& s) {
        if (alive.expired()) return;
        if (s) forget_summaries(ids);
        done(s, s ? ids.size() : 0);
      });
}

// ---------------------------------------------------------------- queries

const WorkflowSummary* WorkflowEngine::summary(const std::string& workflow_id) const {
  auto it = summary_index_.find(workflow_id);
  return it == summary_index_.end() ? nullptr : &summaries_[it->second];
}

QueryResult WorkflowEngine::not_read(const std::string& workflow_id,
                                     const std::string& error) const {
  if (const std::string* why = damage(workflow_id)) return {QueryCode::damaged, json(), *why};
  if (!error.empty()) return {QueryCode::unavailable, json(), error};
  return {QueryCode::not_found, json(), "no workflow " + workflow_id};
}

QueryResult WorkflowEngine::query_back(const std::string& workflow_id,
                                       const std::function<json(const WorkflowState&)>& view) {
  if (damage(workflow_id) || !summary(workflow_id)) return not_read(workflow_id, "");
  std::string error;
  auto state = read_back(workflow_id, &error);
  if (!state) return not_read(workflow_id, error);
  return {QueryCode::found, view(*state), ""};
}

QueryResult WorkflowEngine::describe(const std::string& workflow_id) {
  auto it = active_.find(workflow_id);
  if (it != active_.end()) {
    json out = it->second->state->to_json();
    // Steps waiting for an unavailable service (not journaled: see Workflow).
    for (const auto& [index, until] : it->second->parked) {
      const std::string& step_id = it->second->state->plan().steps[index].id;
      for (json& phase : out["phases"])
        for (json& step : phase["steps"])
          if (step["id"] == step_id) {
            step["status"] = "waiting_for_service";
            step["waiting_until"] = format_time(until);
          }
    }
    if (it->second->stalled)
      out["stalled"] = "journal cap of " + std::to_string(limits_.max_records_per_workflow) +
                       " records reached; an operator must intervene";
    return {QueryCode::found, std::move(out), ""};
  }
  return query_back(workflow_id, [](const WorkflowState& st) { return st.to_json(); });
}

QueryResult WorkflowEngine::approvals(const std::string& workflow_id) {
  if (auto it = active_.find(workflow_id); it != active_.end())
    return {QueryCode::found, it->second->state->approvals_json(), ""};
  return query_back(workflow_id, [](const WorkflowState& st) { return st.approvals_json(); });
}

QueryResult WorkflowEngine::progress(const std::string& workflow_id) {
  if (auto it = active_.find(workflow_id); it != active_.end())
    return {QueryCode::found, progress_of(*it->second->state), ""};
  return query_back(workflow_id, [this](const WorkflowState& st) { return progress_of(st); });
}

json WorkflowEngine::progress_of(const WorkflowState& st) const {
  const TimeMs end = is_terminal(st.status()) ? st.updated_ms() : clock_.now_ms();
  return json_object("workflow_id", st.workflow_id(),
                     "progress_percentage", st.progress_percentage(),
                     "current_phase", st.current_phase_name(),
                     "status", to_string(st.status()),
                     "started_at", format_time(st.created_ms()),
                     "elapsed_seconds", static_cast<double>(end - st.created_ms()) / 1000.0);
}

// ---------------------------------------------------------------- long poll

struct WorkflowEngine::StatusWaiter {
  explicit StatusWaiter(boost::asio::io_context& io) : timer(io) {}
  std::vector<std::string> statuses;
  std::function<void(QueryResult)> done;
  boost::asio::steady_timer timer;
  bool fired = false;
};

void WorkflowEngine::await_status(const std::string& workflow_id,
                                  std::vector<std::string> statuses,
                                  std::chrono::milliseconds max_wait,
                                  std::function<void(QueryResult)> done) {
  auto it = active_.find(workflow_id);
  const bool on_disk = it == active_.end() && passive_.count(workflow_id);
  // A workflow on disk has the status of its summary row.
  const std::string status = it != active_.end() ? to_string(it->second->state->status())
                             : on_disk           ? summary(workflow_id)->status
                                                 : std::string();
  const bool wanted = std::find(statuses.begin(), statuses.end(), status) != statuses.end();
  if (status.empty() || wanted || max_wait.count() <= 0) return done(progress(workflow_id));
  auto waiter = std::make_shared<StatusWaiter>(io_);
  waiter->statuses = std::move(statuses);
  waiter->done = std::move(done);
  status_waiters_[workflow_id].push_back(waiter);
  waiter->timer.expires_after(max_wait);
  std::weak_ptr<bool> alive = alive_;
  waiter->timer.async_wait([this, alive, waiter, workflow_id](const boost::system::error_code&) {
    if (alive.expired() || waiter->fired) return;
    waiter->fired = true;
    if (auto w = status_waiters_.find(workflow_id); w != status_waiters_.end()) {
      std::erase(w->second, waiter);
      if (w->second.empty()) status_waiters_.erase(w);
    }
    waiter->done(progress(workflow_id));
  });
}

// Runs once a status change is durable.
void WorkflowEngine::notify_status(const WorkflowPtr& wf) {
  auto it = status_waiters_.find(wf->state->workflow_id());
  if (it == status_waiters_.end()) return;
  const std::string status = to_string(wf->state->status());
  std::vector<std::shared_ptr<StatusWaiter>> ready;
  std::erase_if(it->second, [&](const std::shared_ptr<StatusWaiter>& w) {
    if (std::find(w->statuses.begin(), w->statuses.end(), status) == w->statuses.end())
      return false;
    ready.push_back(w);
    return true;
  });
  if (it->second.empty()) status_waiters_.erase(it);
  if (ready.empty()) return;
  const json p = progress_of(*wf->state);
  for (const auto& w : ready) {
    w->fired = true;
    w->timer.cancel();
    w->done({QueryCode::found, p, ""});
  }
}

QueryResult WorkflowEngine::history(const std::string& workflow_id, std::uint64_t from_seq,
                                    std::size_t max_records, std::size_t max_bytes) {
  if (damage(workflow_id) || !summary(workflow_id)) return not_read(workflow_id, "");
  JournalStore::WorkflowPage page;
  if (Status s = journal_.store().load_workflow_page(workflow_id, from_seq, max_records,
                                                     max_bytes, &page);
      !s) {
    if (!s.is_corruption()) return not_read(workflow_id, s.message());
    // A workflow running in memory carries on (a restart would quarantine
    // it); one on disk cannot be read back any more.
    if (!active_.count(workflow_id)) quarantine(workflow_id, s.message());
    observability::log(observability::LogLevel::error, "journal damaged",
                       {{"workflow_id", workflow_id}, {"error", s.message()}});
    return {QueryCode::damaged, json(), s.message()};
  }
  json records = json::array();
  for (const JournalRecord& r : page.records)
    records.push_back({{"seq", r.seq},
                       {"type", to_string(r.type)},
                       {"time", format_time(r.time_ms)},
                       {"data", json::parse(r.payload, nullptr, false)}});
  const std::uint64_t next = page.more ? page.records.back().seq + 1 : 0;
  return {QueryCode::found,
          json_object("records", std::move(records), "total", page.last_seq, "more", page.more,
                      "byte_limited", page.byte_limited, "next_seq", next),
          ""};
}

ListPage WorkflowEngine::list(const ListQuery& query) const {
  ListPage page;
  const std::size_t first = (query.page - 1) * query.page_size;
  static const std::string kCorrupt = "corrupt";
  for (auto it = summaries_.rbegin(); it != summaries_.rend(); ++it) {
    const bool damaged = !damaged_.empty() && damaged_.count(it->workflow_id);
    const std::string& status = damaged ? kCorrupt : it->status;
    if (!query.status.empty() && status != query.status) continue;
    if (!query.phase.empty() && it->phase != query.phase) continue;
    if (page.total_count >= first && page.rows.size() < query.page_size) {
      page.rows.push_back(*it);
      if (damaged) page.rows.back().status = kCorrupt;
    }
    ++page.total_count;
  }
  return page;
}

}  // namespace orch::engine
