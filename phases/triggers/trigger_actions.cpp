// EventTriggers' actions: one attempt at one match's action, as the
// "trigger_actions" fan-out's work. The action is the one the trigger's
// version at the event's acceptance named (copied into the item when the
// match was recorded):
//  - reward: the rewards service's credit, with the match id as its
//    Idempotency-Key, so a retry, a replay or a re-run after a crash never
//    pays twice;
//  - message: one message to the customer through the broadcast path
//    (broadcast::send_message): reserved with the customer's user actor
//    (caps, opt-outs), sent with the key "trg:<match>:<customer>";
//  - campaign: a six-phase campaign for the customer, started with the
//    workflow id "trg-<match>" (a repeat finds it started).
// A 4xx (or an action that cannot be done as written) dead-letters the
// match at once; 5xx, 429 and timeouts are retried with backoff until the
// attempts run out, then dead-lettered. Every attempt is kept in the item
// (time, outcome, status, error), and the dead letter's document is written
// before the item is marked failed.
#include <memory>

#include "engine/journal/journal.h"
#include "engine/time/clock.h"
#include "engine/time/time_format.h"
#include "engine/workflow/workflow_engine.h"
#include "observability/log.h"
#include "observability/metrics.h"
#include "observability/trace.h"
#include "phases/audience/customer_directory.h"
#include "phases/broadcast/message_send.h"
#include "phases/campaign/campaign_definition.h"
#include "phases/triggers/event_triggers.h"
#include "phases/triggers/event_triggers_internal.h"

namespace orch::phases::triggers {

using engine::ItemOutcome;
using nlohmann::json;

namespace {

constexpr std::chrono::milliseconds kCallTimeout{10'000};

// What one attempt came to, whatever the action.
struct Result {
  ServiceOutcome outcome = ServiceOutcome::ok;
  std::string status = "done";  // ok: done or skipped
  int http_status = 0;
  std::string error;
  std::string error_class;  // permanent: why ("" = rejected)
  json value;
  std::chrono::milliseconds retry_after{0};

  static Result of(const ServiceResult& r) {
    return {r.outcome, "done", r.http_status, r.error, "", r.value, r.retry_after};
  }
  static Result invalid(std::string error, const char* error_class = kInvalidAction) {
    return {ServiceOutcome::permanent, "", 0, std::move(error), error_class, json(), {}};
  }
};

std::string address_of(const json& customer, const std::string& channel) {
  if (channel == "email") return customer.value("email", "");
  if (channel == "push") return customer.value("id", "");
  return customer.value("phone", "");
}

}  // namespace

class EventTriggers::Action : public std::enable_shared_from_this<Action> {
 public:
  Action(EventTriggers& owner, const engine::FanOutItem& item, json detail, int attempt,
         std::function<void(ItemOutcome)> done)
      : owner_(owner), item_(item), detail_(std::move(detail)), attempt_(attempt),
        done_(std::move(done)) {}

  void begin();

 private:
  void reward(const json& action, const CallContext& ctx);
  void message(const json& action);
  void campaign(const json& action);
  void wake_event();
  void finish(Result r);
  void dead_letter(Result r);
  void write_then(std::function<Status(engine::JournalStore&)> task, ItemOutcome outcome);
  void trace(const Result& r);

  EventTriggers& owner_;
  const engine::FanOutItem item_;
  json detail_;
  const int attempt_;
  std::function<void(ItemOutcome)> done_;
  std::string trace_id_, span_id_, parent_span_;
  std::int64_t started_ns_ = 0;
  std::string type_;
};

void EventTriggers::run_actions() {
  fan_outs_.run(
      kActionsFanOut, matcher_->actions,
      [this, alive = alive_](const engine::FanOutItem& item, int n,
                             std::function<void(ItemOutcome)> done) {
        if (!*alive) return done(ItemOutcome::defer("shutting down", std::chrono::seconds(1)));
        attempt(item, n, std::move(done));
      },
      [](const Status& s) {
        if (!s)
          observability::log(observability::LogLevel::error, "trigger actions stopped",
                             {{"error", s.message()}});
      });
}

void EventTriggers::attempt(const engine::FanOutItem& item, int attempt,
                            std::function<void(ItemOutcome)> done) {
  json detail = json::parse(item.detail, nullptr, false);
  if (!detail.is_object()) return done(ItemOutcome::fail("unreadable action"));
  std::make_shared<Action>(*this, item, std::move(detail), attempt, std::move(done))->begin();
}

void EventTriggers::Action::begin() {
  started_ns_ = observability::unix_nanos_now();
  if (detail_.value("kind", "") == kUnknownCustomer) {
    type_ = "wake_event";
    return wake_event();
  }
  const json action = detail_.value("action", json::object());
  type_ = action.value("type", "");
  auto parent = observability::parse_traceparent(detail_.value("traceparent", ""));
  trace_id_ = parent ? parent->trace_id : observability::random_span_id() + observability::random_span_id();
  parent_span_ = parent ? parent->parent_span_id : "";
  span_id_ = observability::random_span_id();
  CallContext ctx{item_.key, kCallTimeout, observability::format_traceparent(trace_id_, span_id_), 0, ""};
  if (type_ == "reward") return reward(action, ctx);
  if (type_ == "message") return message(action);
  if (type_ == "campaign") return campaign(action);
  finish(Result::invalid("unknown action type '" + type_ + "'"));
}

void EventTriggers::Action::reward(const json& action, const CallContext& ctx) {
  if (!owner_.ports_.rewards) return finish(Result::invalid("no rewards service"));
  const std::string customer = detail_["event"].value("subject", "");
  owner_.ports_.rewards->credit(ctx, customer, action.value("amount", 0.0),
                                action.value("currency", ""),
                                [self = shared_from_this()](ServiceResult r) {
                                  self->finish(Result::of(r));
                                });
}

void EventTriggers::Action::message(const json& action) {
  const std::string customer = detail_["event"].value("subject", "");
  engine::Document d;
  bool found = false;
  Status s = owner_.journal_.store().documents().get_document(audience::kCustomers, customer, &d, &found);
  if (!s) return finish({ServiceOutcome::retryable, "", 0, "customers: " + s.message(), "", json(), {}});
  if (!found) return finish(Result::invalid("customer '" + customer + "' is gone", kUnknownCustomer));
  const TriggerRule* rule = owner_.catalog_.version(detail_.value("trigger", ""), detail_.value("version", 0));
  if (!rule || !rule->action.compiled) return finish(Result::invalid("the trigger's template is gone"));
  const json fields = audience::customer_fields(d);
  const std::string channel = action.value("channel", "");
  engine::FanOutItem message{kActionsFanOut, customer, item_.ordinal, engine::kItemPending, 0,
                             json{{"content", rule->action.compiled->render(fields)},
                                  {"to", address_of(fields, channel)}}.dump(),
                             "", item_.created_ms, item_.created_ms};
  broadcast::SendJob job{"trg:" + item_.key, action.value("name", rule->name), channel, 0,
                         owner_.ports_.messaging, owner_.ports_.email, owner_.ports_.gate, ""};
  broadcast::send_message(job, message, attempt_, [self = shared_from_this()](ItemOutcome o) {
    using Kind = ItemOutcome::Kind;
    Result r;
    switch (o.kind) {
      case Kind::done: r.status = o.status == "sent" ? "done" : "skipped";
                       r.value = {{"message", o.status}, {"reason", o.error}};
                       break;
      case Kind::retryable: r = {ServiceOutcome::retryable, "", 0, o.error, "", json(), o.retry_after}; break;
      case Kind::permanent: r = {ServiceOutcome::permanent, "", 0, o.error, "", json(), {}}; break;
      case Kind::deferred: r = {ServiceOutcome::unavailable, "", 0, o.error, "", json(), o.retry_after}; break;
    }
    self->finish(std::move(r));
  });
}

void EventTriggers::Action::campaign(const json& action) {
  if (!owner_.ports_.workflows) return finish(Result::invalid("campaigns cannot be started here"));
  engine::StartRequest req;
  req.definition = kCampaignWorkflow;
  req.input = action.value("input", json::object());
  req.input["target_user_ids"] = json::array({detail_["event"].value("subject", "")});
  req.workflow_id = "trg-" + item_.key;
  req.idempotency_key = item_.key;
  req.traceparent = observability::format_traceparent(trace_id_, span_id_);
  req.actor = {{"trigger", detail_.value("trigger", "")}, {"event", detail_["event"]}};
  owner_.ports_.workflows->start(std::move(req), [self = shared_from_this()](engine::StartResult s) {
    if (s.code == engine::StartCode::invalid) return self->finish(Result::invalid(s.detail));
    Result r;
    r.value = {{"workflow_id", s.workflow_id}, {"started", s.code == engine::StartCode::created}};
    self->finish(std::move(r));
  });
}

// A replay of an event dead-lettered as unknown_customer: matched now if
// its customer exists, else dead-lettered again.
void EventTriggers::Action::wake_event() {
  const std::string customer = detail_["event"].value("subject", "");
  engine::Document d;
  bool found = false;
  Status s = owner_.journal_.store().documents().get_document(audience::kCustomers, customer, &d, &found);
  if (!s) return finish({ServiceOutcome::retryable, "", 0, "customers: " + s.message(), "", json(), {}});
  if (!found) return finish(Result::invalid("customer '" + customer + "' is still unknown", kUnknownCustomer));
  engine::FanOutItem event;
  s = owner_.journal_.store().fan_outs().fan_out_item(kEventsFanOut, detail_.value("event_key", ""),
                                                      &event, &found);
  if (!s) return finish({ServiceOutcome::retryable, "", 0, "events: " + s.message(), "", json(), {}});
  if (!found) return finish(Result::invalid("the event is gone"));
  engine::FanOutUpdate woken{event, "expired"};
  woken.item.status = engine::kItemPending;
  // Matched again from its own members: the expired match list goes.
  json stored = json::parse(event.detail, nullptr, false);
  if (stored.is_object()) {
    stored.erase("matches");
    woken.item.detail = stored.dump();
  }
  woken.item.updated_ms = owner_.clock_.now_ms();
  detail_["result"] = {{"event", "matching again"}};
  write_then(
      [woken, id = item_.key](engine::JournalStore& store) {
        return store.in_one_transaction([&]() -> Status {
          engine::DocumentWrite w;
          if (Status s = store.documents().delete_document(kDeadLetters, id, &w); !s) return s;
          return store.fan_outs().update_fan_out_items({woken}, nullptr);
        });
      },
      ItemOutcome::finished("done", detail_.dump()));
}

void EventTriggers::Action::finish(Result r) {
  const bool deferred = r.outcome == ServiceOutcome::unavailable;
  if (!deferred) {
    json a = {{"at", engine::format_time(owner_.clock_.now_ms())}, {"attempt", attempt_},
              {"outcome", r.outcome == ServiceOutcome::ok ? r.status
                          : r.outcome == ServiceOutcome::retryable ? "retryable" : "rejected"}};
    if (r.http_status) a["status"] = r.http_status;
    if (!r.error.empty()) a["error"] = r.error;
    detail_["attempts"].push_back(std::move(a));
  }
  trace(r);
  observability::Metrics* metrics = owner_.ports_.metrics;
  const int max = owner_.tuning_.retry.max_attempts;
  switch (r.outcome) {
    case ServiceOutcome::unavailable:
      if (metrics) metrics->trigger_action(type_, "deferred");
      return done_(ItemOutcome::defer(r.error, r.retry_after));
    case ServiceOutcome::ok: {
      if (metrics) metrics->trigger_action(type_, r.status);
      detail_["result"] = r.value;
      const bool was_dead = detail_.value("dead_lettered", false);
      detail_.erase("dead_lettered");
      detail_.erase("error_class");
      ItemOutcome o = ItemOutcome::finished(r.status, detail_.dump());
      if (!was_dead) return done_(std::move(o));
      // Replayed and done: the dead letter goes.
      return write_then(
          [id = item_.key](engine::JournalStore& store) {
            engine::DocumentWrite w;
            return store.documents().delete_document(kDeadLetters, id, &w);
          },
          std::move(o));
    }
    case ServiceOutcome::retryable:
      if (max == 0 || attempt_ < max) {
        if (metrics) metrics->trigger_action(type_, "retried");
        return done_(ItemOutcome::retry(r.error, r.retry_after, detail_.dump()));
      }
      r.error_class = kRetriesExhausted;
      r.error += " (after " + std::to_string(attempt_) + " attempts)";
      return dead_letter(std::move(r));
    case ServiceOutcome::permanent:
      if (r.error_class.empty()) r.error_class = kRejected;
      return dead_letter(std::move(r));
  }
}

void EventTriggers::Action::dead_letter(Result r) {
  if (owner_.ports_.metrics) {
    owner_.ports_.metrics->trigger_action(type_, "dead_lettered");
    owner_.ports_.metrics->dead_lettered(r.error_class, 1);
  }
  detail_["dead_lettered"] = true;
  detail_["error_class"] = r.error_class;
  engine::FanOutItem failed = item_;
  failed.error = r.error;
  const engine::Document letter =
      dead_letter_document(failed, detail_, r.error_class, owner_.clock_.now_ms());
  observability::log(observability::LogLevel::warn, "trigger action dead-lettered",
                     {{"correlation_id", detail_["event"].value("id", "")},
                      {"match", item_.key}, {"trigger", detail_.value("trigger", "")},
                      {"error_class", r.error_class}, {"error", r.error}});
  write_then(
      [letter](engine::JournalStore& store) { return store.documents().put_documents({letter}, nullptr); },
      ItemOutcome::fail(r.error, detail_.dump()));
}

// Writes `task` durably, then reports `outcome` (a retry if the write fails:
// the item stays pending and is tried again).
void EventTriggers::Action::write_then(std::function<Status(engine::JournalStore&)> task,
                                       ItemOutcome outcome) {
  owner_.journal_.run_on_writer(
      std::move(task), [self = shared_from_this(), outcome = std::move(outcome)](const Status& s) mutable {
        if (!s) return self->done_(ItemOutcome::defer("store: " + s.message(), std::chrono::seconds(1)));
        if (self->type_ == "wake_event") {
          self->owner_.matcher_->rewind = true;
          self->owner_.match_more();
        }
        self->done_(std::move(outcome));
      });
}

void EventTriggers::Action::trace(const Result& r) {
  if (!owner_.ports_.spans || trace_id_.empty()) return;
  observability::Span span;
  span.trace_id = trace_id_;
  span.span_id = span_id_;
  span.parent_span_id = parent_span_;
  span.name = "trigger_action " + type_;
  span.start_unix_ns = started_ns_;
  span.end_unix_ns = observability::unix_nanos_now();
  span.attr("event.id", detail_["event"].value("id", ""))
      .attr("trigger.id", detail_.value("trigger", ""))
      .attr("match.id", item_.key)
      .attr("attempt", attempt_);
  if (r.outcome != ServiceOutcome::ok) span.fail(r.error);
  owner_.ports_.spans->record(std::move(span));
}

}  // namespace orch::phases::triggers
