#include "observability/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace orch::observability {

namespace {
using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

// Buckets chosen for the real ranges: journal commits are sub-millisecond to
// tens of milliseconds; activities are milliseconds to minutes; a workflow
// runs from a second (sandbox) to days (waiting for approval).
const Histogram::BucketBoundaries kJournalBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                     0.005,  0.01,    0.025,  0.05,  0.1,
                                                     0.25,   1.0};
const Histogram::BucketBoundaries kActivityBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                      0.25,  0.5,   1,    2.5,   5,    10,
                                                      30,    60,    300,  900};
const Histogram::BucketBoundaries kWorkflowBuckets = {0.1,  0.5,   1,     5,     15,    60,
                                                      300,  900,   3600,  14400, 86400, 259200};
const Histogram::BucketBoundaries kHttpBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                  0.05,   0.1,   0.25,   0.5,   1,    5};
// The statuses of an unfinished workflow (workflows_active).
constexpr const char* kActiveStatuses[] = {"running", "awaiting_approval", "paused",
                                           "compensating"};
const Histogram::BucketBoundaries kBatchBuckets = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
}  // namespace

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::mutex mu;  // prometheus-cpp's Add() on families is thread-safe; this guards our maps

  prometheus::Family<prometheus::Counter>& workflow_executions =
      BuildCounter().Name("workflow_executions_total")
          .Help("Workflows that reached a terminal state, by definition and status")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& workflow_starts =
      BuildCounter().Name("workflow_starts_total").Help("Workflows started, by definition")
          .Register(*registry);
  prometheus::Family<Histogram>& workflow_duration =
      BuildHistogram().Name("workflow_duration_seconds")
          .Help("Start to terminal state, including waits for approval").Register(*registry);
  prometheus::Family<prometheus::Counter>& activity_executions =
      BuildCounter().Name("activity_executions_total")
          .Help("Activity attempts by activity and outcome").Register(*registry);
  prometheus::Family<prometheus::Counter>& activity_retries =
      BuildCounter().Name("activity_retry_count")
          .Help("Retries scheduled after a failed activity attempt").Register(*registry);
  prometheus::Family<Histogram>& activity_duration =
      BuildHistogram().Name("activity_duration_seconds")
          .Help("Duration of one activity attempt").Register(*registry);
  prometheus::Family<prometheus::Counter>& compensations =
      BuildCounter().Name("saga_compensations_total")
          .Help("Compensations completed, by the reason the saga unwound").Register(*registry);
  prometheus::Family<Histogram>& journal_append =
      BuildHistogram().Name("journal_append_seconds")
          .Help("Time of one group commit (transaction and fsync)").Register(*registry);
  prometheus::Family<Histogram>& journal_batch =
      BuildHistogram().Name("journal_group_commit_batch_size")
          .Help("Appends served by one group commit").Register(*registry);
  prometheus::Family<prometheus::Counter>& journal_records =
      BuildCounter().Name("journal_records_total").Help("Journal records made durable")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& active =
      BuildGauge().Name("workflows_active").Help("Unfinished workflows by status and phase")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& steps_waiting =
      BuildGauge().Name("workflow_steps_waiting_for_service")
          .Help("Steps parked until their service admits calls again, by activity")
          .Register(*registry);
  prometheus::Gauge& resident =
      BuildGauge().Name("workflows_resident")
          .Help("Unfinished workflows held in memory (the others wait on disk)")
          .Register(*registry).Add({});
  prometheus::Gauge& entities_resident =
      BuildGauge().Name("entities_resident")
          .Help("Entities (per-user actors and the like) held in memory; the others are on disk")
          .Register(*registry).Add({});
  prometheus::Family<prometheus::Counter>& entity_calls =
      BuildCounter().Name("entity_calls_total")
          .Help("Exclusive entity handler calls by kind, handler and outcome (ok, refused)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& fan_out_attempts =
      BuildCounter().Name("fan_out_attempts_total")
          .Help("Attempts on fan-out items (a broadcast's messages) by kind and outcome: the "
                "status the item ended in, retried or deferred")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& fan_out_in_flight =
      BuildGauge().Name("fan_out_items_in_flight")
          .Help("Fan-out items being attempted now, by kind")
          .Register(*registry);
  // Event-triggered campaigns (phases/triggers/).
  prometheus::Family<prometheus::Counter>& events_received =
      BuildCounter().Name("events_received_total")
          .Help("Customer events delivered to POST /v1/events by outcome: accepted, duplicate "
                "(same source, id and payload as one accepted before), conflict, invalid")
          .Register(*registry);
  prometheus::Counter& events_parked =
      BuildCounter().Name("events_parked_total")
          .Help("Events parked because their customer was not known yet")
          .Register(*registry).Add({});
  prometheus::Family<prometheus::Counter>& trigger_matches =
      BuildCounter().Name("trigger_matches_total")
          .Help("Events that matched a trigger, by trigger and whether the customer was eligible")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& trigger_actions =
      BuildCounter().Name("trigger_actions_total")
          .Help("Trigger action attempts by action type and outcome: done, skipped, retried, "
                "deferred, dead_lettered")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& dead_lettered =
      BuildCounter().Name("dead_letters_total")
          .Help("Matches and events put in the dead-letter queue, by error class")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& dead_letters =
      BuildGauge().Name("dead_letters")
          .Help("Dead letters waiting for an operator, by error class")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& event_queue_depth =
      BuildGauge().Name("event_queue_depth")
          .Help("Work the event queue holds: events not yet matched, events parked for an "
                "unknown customer, actions not yet done")
          .Register(*registry);
  prometheus::Gauge& event_queue_lag =
      BuildGauge().Name("event_queue_lag_seconds")
          .Help("Age of the oldest event or action the queue has not yet processed")
          .Register(*registry).Add({});
  prometheus::Gauge& corrupt =
      BuildGauge().Name("workflows_corrupt")
          .Help("Workflows quarantined because their journal fails its checks")
          .Register(*registry).Add({});
  prometheus::Counter& passivations =
      BuildCounter().Name("workflow_passivations_total")
          .Help("Workflows waiting for a human moved out of memory").Register(*registry).Add({});
  prometheus::Counter& read_backs =
      BuildCounter().Name("workflow_read_backs_total")
          .Help("Workflows read back from the journal into memory").Register(*registry).Add({});
  prometheus::Family<prometheus::Counter>& spans_exported =
      BuildCounter().Name("otel_spans_exported_total")
          .Help("Spans the OTLP exporter delivered to the collector").Register(*registry);
  prometheus::Family<prometheus::Counter>& spans_dropped =
      BuildCounter().Name("otel_spans_dropped_total")
          .Help("Spans dropped: queue_full (exporter queue at its bound) or export_failed "
                "(collector down, slow or refusing)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& http_requests =
      BuildCounter().Name("http_server_requests_total")
          .Help("REST API requests by route and status").Register(*registry);
  prometheus::Family<Histogram>& http_duration =
      BuildHistogram().Name("http_server_request_duration_seconds")
          .Help("REST API request latency by route").Register(*registry);
  prometheus::Family<prometheus::Counter>& auth_failures =
      BuildCounter().Name("http_auth_failures_total")
          .Help("REST API requests refused by authentication (401) or role (403), by reason")
          .Register(*registry);

  prometheus::Family<prometheus::Counter>& connections_refused =
      BuildCounter().Name("http_connections_refused_total")
          .Help("REST API connections closed for the connection cap, by reason")
          .Register(*registry);

  prometheus::Family<prometheus::Counter>& adapter_calls =
      BuildCounter().Name("adapter_calls_total")
          .Help("Outbound service calls by service and outcome").Register(*registry);
  prometheus::Family<Histogram>& adapter_duration =
      BuildHistogram().Name("adapter_call_duration_seconds")
          .Help("Outbound call latency by service and outcome").Register(*registry);
  prometheus::Family<prometheus::Gauge>& breaker_state =
      BuildGauge().Name("circuit_breaker_state")
          .Help("Circuit breaker state per service: 0 closed, 1 open, 2 half-open")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& breaker_failures =
      BuildCounter().Name("circuit_breaker_failures_total")
          .Help("Calls the circuit breaker counted as failures, per service").Register(*registry);

  // prometheus-cpp's Family::Add builds a new metric (for a histogram, its
  // buckets too) and a label map before it looks the labels up, on every
  // call: about 100 calls per campaign. The metrics a call site asks for are
  // kept here by family and label values, so the hot path does one hash
  // lookup; Family never moves or frees a metric we do not Remove.
  template <typename T, typename... Extra>
  T& get(prometheus::Family<T>& family,
         std::initializer_list<std::pair<const char*, std::string_view>> labels,
         const Extra&... extra) {
    thread_local std::string key;
    key.clear();
    const void* f = &family;
    key.append(reinterpret_cast<const char*>(&f), sizeof f);
    for (const auto& [name, value] : labels) {
      key.append(value);
      key.push_back('\x1f');
    }
    std::lock_guard lock(cache_mu);
    if (auto it = cache.find(key); it != cache.end()) return *static_cast<T*>(it->second);
    prometheus::Labels full;
    for (const auto& [name, value] : labels) full.emplace(name, std::string(value));
    T& metric = family.Add(full, extra...);
    cache.emplace(key, &metric);
    return metric;
  }
  std::mutex cache_mu;
  std::unordered_map<std::string, void*> cache;  // GUARDED_BY(cache_mu)

  Histogram& journal_append_h = journal_append.Add({}, kJournalBuckets);
  Histogram& journal_batch_h = journal_batch.Add({}, kBatchBuckets);
  prometheus::Counter& journal_records_c = journal_records.Add({});
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {
  impl_->spans_exported.Add({});
  for (const char* reason : {"queue_full", "export_failed"})
    impl_->spans_dropped.Add({{"reason", reason}});
  for (const char* reason :
       {"step_failed", "rejected", "cancelled", "approval_timeout", "history_limit"})
    impl_->compensations.Add({{"reason", reason}});
  for (const char* reason : {"missing_token", "malformed_token", "unknown_token", "forbidden_role"})
    impl_->auth_failures.Add({{"reason", reason}});
  for (const char* reason : {"over_limit", "reserve", "gave_way"})
    impl_->connections_refused.Add({{"reason", reason}});
}
Metrics::~Metrics() = default;

void Metrics::declare_workflow(const std::string& workflow) {
  impl_->workflow_starts.Add({{"workflow", workflow}});
  for (const char* status : {"completed", "failed", "cancelled"})
    impl_->workflow_executions.Add({{"workflow", workflow}, {"status", status}});
  impl_->workflow_duration.Add({{"workflow", workflow}}, kWorkflowBuckets);
}

void Metrics::declare_activity(const std::string& activity) {
  for (const char* status : {"success", "failure"})
    impl_->activity_executions.Add({{"activity", activity}, {"status", status}});
  impl_->activity_retries.Add({{"activity", activity}});
  impl_->activity_duration.Add({{"activity", activity}}, kActivityBuckets);
  impl_->steps_waiting.Add({{"activity", activity}});
}

void Metrics::declare_service(const std::string& service) {
  impl_->breaker_failures.Add({{"service", service}});
}

void Metrics::declare_phase(const std::string& phase) {
  for (const char* status : kActiveStatuses)
    impl_->active.Add({{"status", status}, {"phase", phase}});
}

void Metrics::workflow_started(const std::string& workflow) {
  impl_->get(impl_->workflow_starts, {{"workflow", workflow}}).Increment();
}

void Metrics::workflow_finished(const std::string& workflow, const std::string& status,
                                double seconds) {
  impl_->get(impl_->workflow_executions, {{"workflow", workflow}, {"status", status}}).Increment();
  impl_->get(impl_->workflow_duration, {{"workflow", workflow}}, kWorkflowBuckets).Observe(seconds);
}

void Metrics::activity_finished(const std::string& activity, const std::string& status,
                                double seconds) {
  impl_->get(impl_->activity_executions, {{"activity", activity}, {"status", status}}).Increment();
  impl_->get(impl_->activity_duration, {{"activity", activity}}, kActivityBuckets).Observe(seconds);
}

void Metrics::activity_retried(const std::string& activity) {
  impl_->get(impl_->activity_retries, {{"activity", activity}}).Increment();
}

void Metrics::compensation_run(const std::string& reason) {
  impl_->get(impl_->compensations, {{"reason", reason}}).Increment();
}

void Metrics::journal_committed(std::size_t appends, std::size_t records, double seconds) {
  impl_->journal_append_h.Observe(seconds);
  impl_->journal_batch_h.Observe(static_cast<double>(appends));
  impl_->journal_records_c.Increment(static_cast<double>(records));
}

void Metrics::active_transition(const std::string& from_status, const std::string& from_phase,
                                const std::string& to_status, const std::string& to_phase) {
  if (from_status == to_status && (from_phase == to_phase || to_status.empty())) return;
  if (!from_status.empty())
    impl_->get(impl_->active, {{"status", from_status}, {"phase", from_phase}}).Decrement();
  if (!to_status.empty())
    impl_->get(impl_->active, {{"status", to_status}, {"phase", to_phase}}).Increment();
}

void Metrics::workflows_resident(std::size_t count) {
  impl_->resident.Set(static_cast<double>(count));
}
void Metrics::workflow_passivated() { impl_->passivations.Increment(); }
void Metrics::entities_resident(std::size_t count) {
  impl_->entities_resident.Set(static_cast<double>(count));
}
void Metrics::entity_call(const std::string& kind, const std::string& handler, bool ok) {
  impl_->get(impl_->entity_calls, {{"kind", kind}, {"handler", handler}, {"outcome", ok ? "ok" : "refused"}})
      .Increment();
}
void Metrics::fan_out_attempt(const std::string& kind, const std::string& outcome) {
  impl_->get(impl_->fan_out_attempts, {{"kind", kind}, {"outcome", outcome}}).Increment();
}
void Metrics::declare_fan_out(const std::string& kind) {
  for (const char* outcome : {"sent", "skipped", "failed", "retried", "deferred"})
    impl_->get(impl_->fan_out_attempts, {{"kind", kind}, {"outcome", outcome}});
  impl_->get(impl_->fan_out_in_flight, {{"kind", kind}});
}
void Metrics::declare_events() {
  for (const char* outcome : {"accepted", "duplicate", "conflict", "invalid"})
    impl_->get(impl_->events_received, {{"outcome", outcome}});
  for (const char* type : {"reward", "message", "campaign"})
    for (const char* outcome : {"done", "skipped", "retried", "deferred", "dead_lettered"})
      impl_->get(impl_->trigger_actions, {{"type", type}, {"outcome", outcome}});
  for (const char* error_class : {"rejected", "retries_exhausted", "unknown_customer", "invalid_action"}) {
    impl_->get(impl_->dead_lettered, {{"error_class", error_class}});
    impl_->get(impl_->dead_letters, {{"error_class", error_class}});
  }
  event_queue(0, 0, 0, 0);
}
void Metrics::events_received(const std::string& outcome, std::uint64_t count) {
  if (count) impl_->get(impl_->events_received, {{"outcome", outcome}}).Increment(double(count));
}
void Metrics::events_parked(std::uint64_t count) { impl_->events_parked.Increment(double(count)); }
void Metrics::trigger_matched(const std::string& trigger, bool eligible) {
  impl_->get(impl_->trigger_matches, {{"trigger", trigger}, {"eligible", eligible ? "true" : "false"}})
      .Increment();
}
void Metrics::trigger_action(const std::string& type, const std::string& outcome) {
  impl_->get(impl_->trigger_actions, {{"type", type}, {"outcome", outcome}}).Increment();
}
void Metrics::dead_lettered(const std::string& error_class, std::uint64_t count) {
  impl_->get(impl_->dead_lettered, {{"error_class", error_class}}).Increment(double(count));
}
void Metrics::dead_letters(const std::string& error_class, std::uint64_t count) {
  impl_->get(impl_->dead_letters, {{"error_class", error_class}}).Set(double(count));
}
void Metrics::event_queue(std::uint64_t events, std::uint64_t parked, std::uint64_t actions,
                          double lag_seconds) {
  impl_->get(impl_->event_queue_depth, {{"queue", "events"}}).Set(double(events));
  impl_->get(impl_->event_queue_depth, {{"queue", "parked"}}).Set(double(parked));
  impl_->get(impl_->event_queue_depth, {{"queue", "actions"}}).Set(double(actions));
  impl_->event_queue_lag.Set(lag_seconds);
}
void Metrics::fan_out_in_flight(const std::string& kind, int delta) {
  impl_->get(impl_->fan_out_in_flight, {{"kind", kind}}).Increment(delta);
}
void Metrics::workflows_corrupt(std::size_t count) {
  impl_->corrupt.Set(static_cast<double>(count));
}
void Metrics::workflow_read_back() { impl_->read_backs.Increment(); }

void Metrics::step_waiting_for_service(const std::string& activity, int delta) {
  prometheus::Gauge& g = impl_->get(impl_->steps_waiting, {{"activity", activity}});
  if (delta >= 0)
    g.Increment(static_cast<double>(delta));
  else
    g.Decrement(static_cast<double>(-delta));
}

void Metrics::spans_exported(double count) { impl_->get(impl_->spans_exported, {}).Increment(count); }

void Metrics::spans_dropped(const std::string& reason, double count) {
  impl_->get(impl_->spans_dropped, {{"reason", reason}}).Increment(count);
}

void Metrics::http_request(const std::string& route, int status, double seconds) {
  char code[8];
  const int n = std::snprintf(code, sizeof code, "%d", status);
  impl_->get(impl_->http_requests,
             {{"route", route}, {"status", std::string_view(code, static_cast<std::size_t>(n))}})
      .Increment();
  impl_->get(impl_->http_duration, {{"route", route}}, kHttpBuckets).Observe(seconds);
}

void Metrics::auth_failure(const std::string& reason) {
  impl_->get(impl_->auth_failures, {{"reason", reason}}).Increment();
}

void Metrics::http_connection_refused(const std::string& reason) {
  impl_->get(impl_->connections_refused, {{"reason", reason}}).Increment();
}

void Metrics::adapter_call(const std::string& service, const std::string& outcome,
                           double seconds) {
  impl_->get(impl_->adapter_calls, {{"service", service}, {"outcome", outcome}}).Increment();
  impl_->get(impl_->adapter_duration, {{"service", service}, {"outcome", outcome}},
             kActivityBuckets)
      .Observe(seconds);
}

void Metrics::breaker_state(const std::string& service, int value) {
  impl_->get(impl_->breaker_state, {{"service", service}}).Set(value);
}

void Metrics::breaker_failure(const std::string& service) {
  impl_->get(impl_->breaker_failures, {{"service", service}}).Increment();
}

std::string Metrics::serialize() const {
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

prometheus::Registry& Metrics::registry() { return *impl_->registry; }

}  // namespace orch::observability
