// The engine's core: construction, ids, the journal path every transition
// takes (emit: fold the record in; commit: make it durable, then act), and
// starting a workflow. The other units: workflow_scheduler.cpp (what to do
// next), workflow_execution.cpp (running steps and compensations),
// workflow_signals.cpp (commands), workflow_passivation.cpp,
// workflow_recovery.cpp, workflow_retention.cpp, workflow_queries.cpp.
#include "engine/workflow/workflow_run.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "engine/common/digest.h"
#include "engine/json/json_text.h"
#include "engine/time/time_format.h"
#include "engine/workflow/workflow_tracer.h"
#include "observability/log.h"
#include "observability/metrics.h"

namespace orch::engine {

using nlohmann::json;

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

const std::vector<std::string>& waiting_statuses() {
  static const std::vector<std::string> statuses = {"awaiting_approval", "paused"};
  return statuses;
}
bool waits_for_human(WorkflowStatus status) {
  return status == WorkflowStatus::awaiting_approval || status == WorkflowStatus::paused;
}
bool waits_for_human(const std::string& status) {
  const std::vector<std::string>& waiting = waiting_statuses();
  return std::find(waiting.begin(), waiting.end(), status) != waiting.end();
}

namespace {
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

}  // namespace orch::engine
