// The metrics users and dashboards rely on (names fixed by CONTRACT.md),
// declared in one place. Labels never carry workflow ids: cardinality stays
// bounded by the number of workflow definitions, activities and services.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace prometheus {
class Registry;
}

namespace orch::observability {

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Declares the series a workflow definition and its activities will use,
  // at zero, so every contract metric is exported from the first scrape.
  void declare_workflow(const std::string& workflow);
  void declare_activity(const std::string& activity);
  void declare_service(const std::string& service);
  // Declares `workflows_active{status,phase}` at zero for the phase.
  void declare_phase(const std::string& phase);

  void workflow_started(const std::string& workflow);
  void workflow_finished(const std::string& workflow, const std::string& status,
                         double seconds);
  void activity_finished(const std::string& activity, const std::string& status,
                         double seconds);
  void activity_retried(const std::string& activity);
  void compensation_run(const std::string& reason);
  void journal_committed(std::size_t appends, std::size_t records, double seconds);
  // Moves one workflow between `workflows_active{status,phase}` buckets;
  // an empty status means "not active".
  void active_transition(const std::string& from_status, const std::string& from_phase,
                         const std::string& to_status, const std::string& to_phase);
  // `workflow_steps_waiting_for_service{activity}`: steps parked because
  // their service refused the call (breaker open, bulkhead full, rate
  // limit); `delta` is +1 when one parks and -1 when it knocks again.
  void step_waiting_for_service(const std::string& activity, int delta);
  // Passivation: `workflows_resident` (unfinished workflows held in memory;
  // the others wait on disk), `workflow_passivations_total` (moved out of
  // memory) and `workflow_read_backs_total` (read back from the journal).
  void workflows_resident(std::size_t count);
  void workflow_passivated();
  void workflow_read_back();
  // `workflows_corrupt`: workflows quarantined because their journal fails
  // its checks (WorkflowEngine::damage).
  void workflows_corrupt(std::size_t count);
  // Entities (engine/entity/): `entities_resident` (held in memory; the
  // others are only on disk) and `entity_calls_total{kind,handler,outcome}`
  // (outcome: ok or refused).
  void entities_resident(std::size_t count);
  // Durable fan-outs (engine/fanout/), by kind (e.g. "broadcast"):
  // `fan_out_attempts_total{kind,outcome}` (an item's attempt: the status it
  // ended in, or retried, deferred) and `fan_out_items_in_flight{kind}`.
  void fan_out_attempt(const std::string& kind, const std::string& outcome);
  // Exports a kind's series at zero before its first item.
  void declare_fan_out(const std::string& kind);
  void fan_out_in_flight(const std::string& kind, int delta);
  // Event-triggered campaigns (phases/triggers/): events_received_total
  // {outcome}, events_parked_total, trigger_matches_total{trigger,eligible},
  // trigger_actions_total{type,outcome}, dead_letters_total{error_class}
  // (put in the queue) and dead_letters{error_class} (waiting now),
  // event_queue_depth{queue} (events, parked, actions) and
  // event_queue_lag_seconds. declare_events() exports them at zero.
  void declare_events();
  void events_received(const std::string& outcome, std::uint64_t count);
  void events_parked(std::uint64_t count);
  void trigger_matched(const std::string& trigger, bool eligible);
  void trigger_action(const std::string& type, const std::string& outcome);
  void dead_lettered(const std::string& error_class, std::uint64_t count);
  void dead_letters(const std::string& error_class, std::uint64_t count);
  void event_queue(std::uint64_t events, std::uint64_t parked, std::uint64_t actions,
                   double lag_seconds);
  void entity_call(const std::string& kind, const std::string& handler, bool ok);
  // Tracing: spans the OTLP exporter delivered, and spans it dropped
  // (`reason`: queue_full, export_failed).
  void spans_exported(double count);
  void spans_dropped(const std::string& reason, double count);
  void http_request(const std::string& route, int status, double seconds);
  // A request refused by authentication (401: missing_token, malformed_token,
  // unknown_token) or authorisation (403: forbidden_role).
  void auth_failure(const std::string& reason);
  // `http_connections_refused_total{reason}`: a connection closed for the
  // REST API's connection cap (over_limit: answered 503 at accept; reserve:
  // a reserve slot asked for another path than a probe's, 503; gave_way:
  // waiting without a request, closed to make room for a new connection).
  void http_connection_refused(const std::string& reason);
  // One outbound call attempt by service and outcome (success, failure,
  // rejected: refused by breaker/bulkhead/rate limit before sending).
  void adapter_call(const std::string& service, const std::string& outcome, double seconds);
  void breaker_state(const std::string& service, int value);
  void breaker_failure(const std::string& service);

  // Prometheus text exposition format 0.0.4.
  std::string serialize() const;
  prometheus::Registry& registry();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orch::observability
