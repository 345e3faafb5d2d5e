// The durable state machine. Every transition is journaled before it is acted
// on or acknowledged: records are folded into the in-memory state when they
// are created, but activities run, timers arm and callers hear back only from
// the journal's durability callback. On start, recover() rebuilds every
// unfinished workflow from the journal and resumes it; a step scheduled but
// not recorded complete runs again with the same idempotency key. A workflow
// waiting for a human is not kept in memory (passivation, see EngineLimits):
// it is read back from the journal when a command or its deadline needs it.
//
// Threading: one io_context thread runs the engine (no thread per workflow);
// the journal commits on its own writer thread.
// REQUIRES: every public method is called on the io_context thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/workflow/activity.h"
#include "engine/workflow/signal_result.h"
#include "engine/time/clock.h"
#include "engine/journal/journal.h"
#include "engine/time/timer_service.h"
#include "engine/workflow/workflow_definition.h"
#include "engine/workflow/workflow_state.h"

namespace boost::asio {
class io_context;
}
namespace orch::observability {
class Metrics;
class SpanSink;
}

namespace orch::engine {

class WorkflowTracer;

class DefinitionRegistry {
 public:
  void add(WorkflowDefinition definition);
  const WorkflowDefinition* find(const std::string& name) const;
  template <typename Fn>
  void for_each(Fn fn) const {
    for (const auto& [name, def] : definitions_) fn(*def);
  }

 private:
  std::unordered_map<std::string, std::unique_ptr<WorkflowDefinition>> definitions_;
};

struct StartRequest {
  std::string definition;
  nlohmann::json input;
  std::string workflow_id;      // "" = generate
  std::string idempotency_key;  // "" = none
  std::string traceparent;      // W3C; "" = new trace
  nlohmann::json actor;         // who starts it (audit trail); null = unknown
};

enum class StartCode { created, existing, conflict, invalid };
struct StartResult {
  StartCode code = StartCode::created;
  std::string workflow_id;
  std::string run_id;
  std::string status;
  std::string detail;
};

// What a query of one workflow found. `damaged`: its journal fails its
// checks (detail names the workflow and the record's offset); `unavailable`:
// the store could not be read (an I/O error: a retry may do).
enum class QueryCode { found, not_found, damaged, unavailable };
struct QueryResult {
  QueryCode code = QueryCode::found;
  nlohmann::json body;  // found: the view
  std::string detail;   // otherwise: why
  bool found() const { return code == QueryCode::found; }
};

struct ListQuery {
  std::string status;  // "" = any
  std::string phase;   // "" = any
  std::size_t page = 1;
  std::size_t page_size = 20;
};
struct ListPage {
  std::vector<WorkflowSummary> rows;
  std::size_t total_count = 0;
};

// Bounds on what one workflow may write. Temporal caps a workflow history at
// 51,200 events; ours is 10,000 records by default (a campaign needs about 40).
// At 90 % of the cap a running workflow stops taking new work and unwinds
// (reason history_limit), keeping the last 10 % for its compensations; at the
// cap it is stalled: nothing more is journaled for it and it is reported.
//
// A workflow that waits for a human (awaiting_approval, or paused) with
// nothing in flight leaves memory after `passivate_after_ms` without a
// transition: only its summary row stays, and a signal, update, cancel or its
// approval deadline reads it back from the journal. Negative: never.
struct EngineLimits {
  std::uint64_t max_records_per_workflow = 10'000;
  // The largest signal payload journaled (its JSON text): a few of them
  // cannot fill a history page or the journal.
  std::size_t max_signal_payload_bytes = 64 * 1024;
  TimeMs passivate_after_ms = 1'000;
  std::uint64_t unwind_threshold() const {
    return max_records_per_workflow - max_records_per_workflow / 10;
  }
};

class WorkflowEngine {
 public:
  WorkflowEngine(boost::asio::io_context& io, Journal& journal, Clock& clock,
                 const DefinitionRegistry& definitions, const ActivityRegistry& activities,
                 observability::Metrics* metrics, EngineLimits limits = {});
  ~WorkflowEngine();
  WorkflowEngine(const WorkflowEngine&) = delete;
  WorkflowEngine& operator=(const WorkflowEngine&) = delete;

  // Loads every workflow summary and resumes every unfinished workflow.
  Status recover();

  void start(StartRequest request, std::function<void(StartResult)> done);
  void signal(const std::string& workflow_id, const std::string& name, nlohmann::json payload,
              const std::string& idempotency_key, std::function<void(SignalResult)> done);
  void cancel(const std::string& workflow_id, const std::string& reason,
              std::function<void(SignalResult)> done);
  // `actor` ({subject, role, token}) is journaled for the audit trail.
  void cancel(const std::string& workflow_id, const std::string& reason, nlohmann::json actor,
              std::function<void(SignalResult)> done);
  // Pause (hold: steps in flight finish, nothing new is scheduled) or resume
  // a workflow; only before the definition's pausable_before_phase starts.
  void hold(const std::string& workflow_id, bool pause, const std::string& reason,
            nlohmann::json actor, std::function<void(SignalResult)> done);
  // Resumes a paused workflow from the step that paused it, with fresh
  // attempts (POST /v1/workflows/{id}/retry).
  void redrive(const std::string& workflow_id, const std::string& reason,
               std::function<void(SignalResult)> done);

  // Queries: read state, change nothing; finished workflows are read back
  // from the store.
  QueryResult describe(const std::string& workflow_id);
  QueryResult progress(const std::string& workflow_id);
  // The gate's view, as the workflow's kind renders its tally, with the
  // audit trail of human actions (WorkflowState::gate_view).
  QueryResult approvals(const std::string& workflow_id);
  // Long poll: calls `done` with the workflow's progress as soon as its
  // status is one of `statuses` (at once if it already is), otherwise after
  // `max_wait` with whatever it is then.
  void await_status(const std::string& workflow_id, std::vector<std::string> statuses,
                    std::chrono::milliseconds max_wait, std::function<void(QueryResult)> done);
  // One page of the workflow's journal, oldest first, from record `from_seq`:
  // at most `max_records`, and no more payload bytes than `max_bytes` (but
  // at least one record). Body: {records: [{seq, type, time, data}], total,
  // more, byte_limited, next_seq (0 when nothing follows)}.
  QueryResult history(const std::string& workflow_id, std::uint64_t from_seq,
                      std::size_t max_records, std::size_t max_bytes);
  // Lists summaries; a quarantined workflow shows the status "corrupt".
  ListPage list(const ListQuery& query) const;
  const WorkflowSummary* summary(const std::string& workflow_id) const;

  // Quarantine. A workflow whose journal fails its checks (a checksum, a
  // missing or malformed record) when it is read (on recovery, read back
  // from disk, or queried once finished) is set aside: logged once with the
  // workflow and the offset, counted in `workflows_corrupt`, listed with
  // the status "corrupt", answered `damaged` by every query and command, and
  // never driven again. The others carry on. `journal verify` finds them all
  // offline. nullptr for a workflow not quarantined.
  const std::string* damage(const std::string& workflow_id) const;
  // Sets a workflow aside as damaged (`why` names the record); also before
  // recover(), for damage the store's start-up check found.
  void quarantine(const std::string& workflow_id, const std::string& why);
  // Quarantined workflows: how many, and their ids (sorted, at most `max`).
  std::size_t damaged_count() const { return damaged_.size(); }
  std::vector<std::string> damaged_ids(std::size_t max) const;

  // Deletes (after appending each journal as one JSON line to `archive_path`,
  // when not empty) finished workflows last updated before `cutoff_ms`, at
  // most `max` per call. `done` receives how many were removed.
  void purge_finished(TimeMs cutoff_ms, std::size_t max, const std::string& archive_path,
                      std::function<void(Status, std::size_t)> done);

  // Unfinished workflows, in memory or waiting on disk.
  std::size_t active_count() const { return active_.size() + passive_.size(); }
  // Unfinished workflows held in memory.
  std::size_t resident_count() const { return active_.size(); }
  std::size_t known_count() const { return summaries_.size(); }
  // The workflow kinds this engine runs.
  const DefinitionRegistry& definitions() const { return definitions_; }

  // Test hook: sees every record right after it is folded into live state.
  using RecordObserver = std::function<void(const WorkflowState&, const JournalRecord&)>;
  void set_record_observer(RecordObserver observer) { record_observer_ = std::move(observer); }

  // Records the workflow's spans (see engine/workflow/workflow_tracer.h) in `sink`;
  // null (the default) records none. Call before recover().
  // REQUIRES: `sink` outlives the engine.
  void set_span_sink(observability::SpanSink* sink);

 private:
  struct Workflow;
  using WorkflowPtr = std::shared_ptr<Workflow>;

  // The running workflow (read back from the journal if it waits on disk),
  // or nullptr after answering not_found / conflict / unavailable.
  WorkflowPtr active_or_reply(const std::string& workflow_id,
                              const std::function<void(SignalResult)>& done);
  // Answers a command to a workflow that is not running: unavailable (its
  // journal could not be read: `error`), conflict (finished) or not_found.
  void reply_inactive(const std::string& workflow_id, const std::string& error,
                      const std::function<void(SignalResult)>& done);
  // If `key` was used on `st` before, answers as the first request was
  // answered (duplicate) or, for a different request, key_reused; true then.
  bool answered_repeat(const WorkflowState& st, const std::string& key,
                       const std::string& fingerprint, std::function<void(SignalResult)>& done);
  // The unfinished workflow `workflow_id` in memory, reading it back from
  // the journal if it waits on disk; nullptr if it is neither (or, with
  // *error set, if its journal cannot be read).
  WorkflowPtr resident(const std::string& workflow_id, std::string* error);
  // Passivation: remembers that a workflow may have started to wait for a
  // human, and moves those idle long enough out of memory.
  void note_idle(Workflow& wf);
  void passivate_idle();
  bool passivable(const WorkflowPtr& wf) const;
  // When a call refused by its service (unavailable) may knock again.
  TimeMs park_until(std::chrono::milliseconds retry_after);
  void emit(Workflow& wf, RecordType type, nlohmann::json payload);
  // Whether an approve/reject of the gate in phase `gate_phase` may be
  // journaled: not while unwinding or once decided, then as the kind's
  // rules judge it (they may stamp `payload`). Nothing is journaled if not.
  SignalResult check_decision(const WorkflowState& st, std::size_t gate_phase, bool approve,
                              nlohmann::json& payload) const;
  void log_transition(const WorkflowState& st, const JournalRecord& r,
                      const nlohmann::json& payload);
  void commit(const WorkflowPtr& wf, std::function<void()> after_durable);
  // Decides what `wf` does next (journaling it), commits, then acts.
  void advance(const WorkflowPtr& wf);
  // One pass of decisions at `now` (workflow_scheduler.cpp).
  struct Decisions;
  void decide(Workflow& wf, TimeMs now, Decisions& next);
  // Unwinding: steps with an unknown outcome first, then the newest
  // compensation, then the end.
  void decide_unwinding(Workflow& wf, TimeMs now, Decisions& next);
  void schedule_compensation(Workflow& wf, const compensation::Compensation& c, TimeMs now,
                             Decisions& next);
  // The current phase's steps: all at once (parallel) or the first not done.
  void schedule_phase(Workflow& wf, std::size_t phase, TimeMs now, Decisions& next);
  void schedule_step(Workflow& wf, std::size_t index, TimeMs now, Decisions& next);
  // A step journaled as scheduled whose activity is not running (parked for
  // its service, or scheduled before a restart) runs again when it may.
  void rerun_scheduled(Workflow& wf, std::size_t index, TimeMs now, Decisions& next);
  // The gate of `phase` once its steps are done: its deadline escalates it
  // (once, when the input names a second line) or times it out.
  void watch_gate(Workflow& wf, std::size_t phase, TimeMs now, Decisions& next);
  void execute_step(const WorkflowPtr& wf, std::size_t index);
  void execute_compensation(const WorkflowPtr& wf);
  void on_step_done(const WorkflowPtr& wf, std::size_t index, int attempt, ActivityOutcome outcome,
                    double seconds);
  void on_compensation_done(const WorkflowPtr& wf, std::string step_id, int attempt,
                            ActivityOutcome outcome);
  void on_finished(const WorkflowPtr& wf);
  void on_timer(const std::string& workflow_id);
  struct StatusWaiter;
  void notify_status(const WorkflowPtr& wf);
  nlohmann::json progress_of(const WorkflowState& st) const;
  std::unique_ptr<WorkflowState> rebuild(const std::vector<JournalRecord>& records,
                                         std::string* error) const;
  // The state of a workflow as journaled (finished, or waiting on disk);
  // nullptr, with *error (if given) saying why, if it cannot be read. A
  // journal that fails its checks or cannot be folded quarantines it.
  std::unique_ptr<WorkflowState> read_back(const std::string& workflow_id,
                                           std::string* error = nullptr);
  // A query's answer for a workflow not in memory: read back and viewed.
  QueryResult query_back(const std::string& workflow_id,
                         const std::function<nlohmann::json(const WorkflowState&)>& view);
  // Why a workflow could not be read (`error` from read_back, "" = no such).
  QueryResult not_read(const std::string& workflow_id, const std::string& error) const;
  // A Workflow around a state rebuilt from the journal (recovery, read back).
  WorkflowPtr resume(std::unique_ptr<WorkflowState> state) const;
  template <class Summary>  // const WorkflowSummary& or WorkflowSummary&&
  void remember_summary(Summary&& summary);
  void forget_summaries(const std::vector<std::string>& workflow_ids);
  std::string new_hex(std::size_t chars);
  // The traceparent handed to an activity: the workflow's trace, with the
  // span of the step or compensation attempt as parent.
  std::string traceparent_for(const Workflow& wf, const std::string& span_id) const;

  // Constant after construction.
  boost::asio::io_context& io_;
  Journal& journal_;
  Clock& clock_;
  const DefinitionRegistry& definitions_;
  const ActivityRegistry& activities_;
  observability::Metrics* metrics_;
  EngineLimits limits_;

  TimerService timers_;
  std::mt19937_64 random_;
  std::unordered_map<std::string, WorkflowPtr> active_;
  std::unordered_set<std::string> passive_;  // unfinished, waiting on disk
  std::deque<std::pair<TimeMs, std::string>> idle_;  // when each started to wait
  TimerService passivation_timer_;
  std::vector<WorkflowSummary> summaries_;  // creation order
  std::unordered_map<std::string, std::size_t> summary_index_;
  std::unordered_map<std::string, std::string> by_idempotency_key_;
  std::map<std::string, std::string> damaged_;  // quarantined: id -> why
  RecordObserver record_observer_;
  std::unique_ptr<WorkflowTracer> tracer_;  // null: tracing off
  std::unordered_map<std::string, std::vector<std::shared_ptr<StatusWaiter>>> status_waiters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// SHA-256 of the canonical JSON text, as 64 hex digits: a start that names
// an existing workflow (its id or idempotency key) with another input is a
// conflict, so two inputs must not share a hash.
std::string input_hash(const nlohmann::json& input);

}  // namespace orch::engine
