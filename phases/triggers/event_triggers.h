// Campaigns triggered by customer events, end to end: events accepted and
// deduplicated, matched against the trigger campaigns, their actions done
// (a reward, a message, a six-phase campaign) with retries, and what cannot
// be done kept in a dead-letter queue for an operator to replay or discard.
//
// The journal is the queue. Two durable fan-outs (engine/fanout/) hold the
// work, so nothing accepted is lost and a restart resumes where the store
// says:
//  - "events": one item per event, keyed by (source, id), so a redelivery
//    is found, never added twice. Status pending (accepted, not yet
//    matched), parked (its customer is not known yet), matched, expired
//    (parked past its TTL). Accepting is durable before the 202: concurrent
//    requests' events are written together, one transaction at a time.
//  - "trigger_actions": one item per (event, trigger) match, keyed by the
//    event's ordinal and the trigger's id, so no match is recorded twice
//    and no replay pays twice (the key is also the rewards service's
//    idempotency key). Run with a concurrency limit, exponential backoff
//    with full jitter; status done, skipped (a message the customer's caps
//    or opt-outs held back), failed (dead-lettered) or discarded.
// Matching takes pending events in batches (event_matcher.cpp) and writes a
// batch's outcome in ONE transaction: the events' new status, their
// matches' action items, the parked events' index and the claims that
// enforce re-eligibility ("once", "once per N hours" per customer), so a
// crash anywhere re-matches the batch to the same result.
//
// A dead letter is a failed action item plus a document in "dead_letters"
// (indexed by trigger and error class for the queue's filters), written
// before the item is marked failed. A replay moves the item back to pending
// and keeps the document until the action succeeds; each replay and discard
// is audited (who, when, which token).
//
// REQUIRES: every method runs on the engine's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/common/status.h"
#include "engine/fanout/fan_out_runner.h"
#include "phases/ports.h"
#include "phases/triggers/event_envelope.h"
#include "phases/triggers/trigger_catalog.h"

namespace boost::asio {
class io_context;
}
namespace orch::engine {
class WorkflowEngine;
}
namespace orch::observability {
class Metrics;
class SpanSink;
}  // namespace orch::observability

namespace orch::phases::triggers {

inline constexpr const char* kEventsFanOut = "events";
inline constexpr const char* kActionsFanOut = "trigger_actions";
inline constexpr const char* kDeadLetters = "dead_letters";
inline constexpr const char* kDeadLetterAudit = "dead_letter_audit";
inline constexpr const char* kParkedEvents = "parked_events";
inline constexpr const char* kTriggerClaims = "trigger_claims";

// Why an action was dead-lettered.
inline constexpr const char* kRejected = "rejected";                   // the service said 4xx
inline constexpr const char* kRetriesExhausted = "retries_exhausted";  // transient failures
inline constexpr const char* kUnknownCustomer = "unknown_customer";    // parked past its TTL
inline constexpr const char* kInvalidAction = "invalid_action";        // cannot be done as written

struct TriggerPorts {
  RewardsService* rewards = nullptr;
  MessageGateway* messaging = nullptr;  // sms, whatsapp, push
  EmailSender* email = nullptr;
  RecipientGate* gate = nullptr;  // the customers' user actors
  engine::WorkflowEngine* workflows = nullptr;  // campaign actions
  observability::SpanSink* spans = nullptr;     // may be null
  observability::Metrics* metrics = nullptr;    // may be null
};

struct TriggerTuning {
  std::size_t action_concurrency = 256;  // actions in flight at most
  engine::RetryPolicy retry{5, std::chrono::milliseconds{500}, 2.0,
                            std::chrono::milliseconds{30'000}, true};
  std::chrono::milliseconds park_ttl{24 * 3600 * 1000};  // an unknown customer's events wait this long
  std::chrono::milliseconds sweep_every{1'000};          // parked events' TTL checks, queue gauges
  std::size_t match_batch = 512;                         // events matched per transaction
  std::string receipts_url;                              // see broadcast::SendJob
};

enum class Delivery { accepted, duplicate, conflict };
const char* to_string(Delivery d);

struct QueuedEvent;  // event_triggers_internal.h
struct EventWrites;
struct ReplayRun;

class EventTriggers {
 public:
  EventTriggers(boost::asio::io_context& io, engine::Journal& journal,
                engine::FanOutRunner& fan_outs, engine::Clock& clock, TriggerPorts ports,
                TriggerTuning tuning = {});
  ~EventTriggers();
  EventTriggers(const EventTriggers&) = delete;
  EventTriggers& operator=(const EventTriggers&) = delete;

  // Loads the triggers and resumes matching, actions and sweeps; parked
  // events whose customer exists by now are woken.
  Status start();
  TriggerCatalog& catalog() { return catalog_; }

  // Records `events` (durably, before `done`): each accepted, a duplicate
  // of one accepted before (same source, id and payload) or a conflict
  // (same source and id, another payload: nothing recorded).
  void accept(std::vector<Event> events,
              std::function<void(const Status&, const std::vector<Delivery>&)> done);

  // GET /v1/events/{id}?source=: the event, its status and its matches.
  bool event_view(const std::string& source, const std::string& id, nlohmann::json* out,
                  Status* error);
  // GET /v1/dead-letters/{id}: the dead letter with its state (dead or
  // replaying) and audit trail.
  bool dead_letter_view(const std::string& id, nlohmann::json* out, Status* error);
  // A page of dead letters, newest first (filters "" = any).
  Status dead_letters(const std::string& trigger, const std::string& error_class,
                      std::int64_t before_seq, std::size_t limit, nlohmann::json* rows,
                      std::vector<engine::Document>* page, bool* more);

  // Replays dead letters `ids` (at most `per_second` a second): each is
  // audited, its action moved back to pending with fresh attempts; its
  // document goes when the action succeeds. `done` once the request is
  // recorded on each dead letter (a replay a crash cuts short resumes at
  // the next start), with {id: "replaying" | "not_found" |
  // "already_replaying"}.
  void replay(std::vector<std::string> ids, double per_second, const nlohmann::json& actor,
              std::function<void(const Status&, const nlohmann::json& outcome)> done);
  // Discards dead letter `id` (audited): its action will not be done. Not
  // while a replay of it is under way (its action may be done already).
  enum class Discard { discarded, not_found, replaying };
  void discard(const std::string& id, const nlohmann::json& actor,
               std::function<void(const Status&, Discard)> done);

  // Customers created: their parked events are matched now.
  void customers_added(const std::vector<std::string>& ids);

  // {"events_pending","events_parked","actions_pending","dead_letters","lag_seconds"}.
  nlohmann::json queue();

 private:
  struct Intake;
  struct Matcher;
  class Action;

  // event_intake.cpp
  void write_accepted();
  void settle_accepted(std::vector<QueuedEvent>& batch, const Status& s,
                       const std::vector<bool>& added);
  // event_matcher.cpp
  void match_more();
  void match_batch(std::vector<engine::FanOutItem> events);
  std::string match_event(const engine::FanOutItem& item, const nlohmann::json& event,
                          std::vector<engine::Document>* claims,
                          std::vector<engine::FanOutItem>* actions);
  void match_after(std::chrono::steady_clock::duration cost);
  bool eligible(const TriggerRule& rule, const std::string& customer, const std::string& match,
                engine::TimeMs at, std::vector<engine::Document>* claims);
  // Queues for unpark() the customers that exist among the parked events'
  // (created, then the process died before their events were woken).
  Status find_known_parked();
  void unpark();
  void sweep();
  Status expired_parked(engine::TimeMs now, std::vector<std::string>* ids);
  void expire(engine::FanOutItem event, engine::TimeMs now, EventWrites* w);
  void arm_sweep();
  // trigger_actions.cpp
  void run_actions();
  void attempt(const engine::FanOutItem& item, int attempt,
               std::function<void(engine::ItemOutcome)> done);
  // dead_letters.cpp
  void replay_next(std::shared_ptr<ReplayRun> run);
  Status resume_replays();
  // event_views.cpp
  void sample_gauges();

  boost::asio::io_context& io_;
  engine::Journal& journal_;
  engine::FanOutRunner& fan_outs_;
  engine::Clock& clock_;
  const TriggerPorts ports_;
  const TriggerTuning tuning_;
  TriggerCatalog catalog_;
  std::unique_ptr<Intake> intake_;
  std::unique_ptr<Matcher> matcher_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace orch::phases::triggers
