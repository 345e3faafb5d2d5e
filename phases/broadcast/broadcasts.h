// Broadcasts end to end: the "broadcast" workflow definition and its two
// activities, and the operations the REST routes call.
//
// A send runs as the workflow "<broadcast>:send" (a retry of the failed
// messages as "<broadcast>:retry-<n>") with two steps:
//  - audience: draws the audience (the customer ids given, or a segment of
//    the customers by location, read a page at a time) and adds one item per
//    customer to the broadcast's fan-out, its message rendered from the
//    template, a thousand items a transaction; a retry instead moves the
//    failed messages back to pending with fresh attempts;
//  - messages: runs the fan-out (send_message per item, bounded concurrency)
//    until every message is settled, then records the broadcast's status.
// Both are idempotent, so the engine re-runs a step the process died in and
// the fan-out resumes where its store says it was. send_now() runs the two
// in turn inside another workflow's step (a campaign's sms or whatsapp
// distribution to an audience, phases/campaign/audience_broadcast.h).
//
// REQUIRES: every method runs on the engine's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/fanout/fan_out_runner.h"
#include "engine/workflow/activity.h"
#include "engine/workflow/workflow_definition.h"
#include "phases/broadcast/broadcast_record.h"
#include "phases/broadcast/message_send.h"

namespace orch::engine {
class Clock;
class Journal;
}  // namespace orch::engine

namespace orch::phases::broadcast {

inline constexpr const char* kBroadcastDefinition = "broadcast";

struct BroadcastPorts {
  MessageGateway* messaging = nullptr;
  EmailSender* email = nullptr;
  RecipientGate* gate = nullptr;
};

struct BroadcastTuning {
  std::size_t concurrency = 48;  // messages in flight per broadcast
  engine::RetryPolicy retry{3, std::chrono::milliseconds{1'000}, 2.0,
                            std::chrono::milliseconds{30'000}, true};
  std::string receipts_url;  // see SendJob::receipts_url
};

// {"total","pending","sending","sent","failed","skipped"} (+ any other status).
using Stats = nlohmann::json;

class Broadcasts {
 public:
  Broadcasts(engine::Journal& journal, engine::FanOutRunner& fan_outs, engine::Clock& clock,
             BroadcastPorts ports, BroadcastTuning tuning = {});
  ~Broadcasts();
  Broadcasts(const Broadcasts&) = delete;
  Broadcasts& operator=(const Broadcasts&) = delete;

  engine::WorkflowDefinition definition() const;
  void register_activities(engine::ActivityRegistry& registry);

  // The broadcast as last saved (a save in flight included); false when
  // there is none, *error set when the store could not be read.
  bool load(const std::string& id, Broadcast* out, Status* error);
  // Saves `b` (updated_ms now); `done` once durable.
  void save(Broadcast b, std::function<void(const Status&)> done);
  Stats stats(const std::string& id);

  // Sends `b` here and now, as the broadcast workflow's two steps would in
  // turn: saves it (status sending), adds one message per customer of
  // `audience_input` ({"customer_ids": [...]} or {"segment": {...}}, ids
  // not found recorded as skipped "no such customer"), runs the fan-out to
  // the end and records the settled status. `done` gets the stats, or a
  // retryable failure when the store fails (permanent when b's template
  // does not compile). Idempotent, for a step that calls it and is re-run
  // after a crash: items already added are kept and the fan-out resumes
  // from the store (a call while it runs joins that run). For a first send
  // `round` is 0; n > 0 requeues the failed messages instead of drawing.
  void send_now(const Broadcast& b, const nlohmann::json& audience_input, int round,
                engine::ActivityDone done);

 private:
  class Audience;
  class Messages;

  engine::Journal& journal_;
  engine::FanOutRunner& fan_outs_;
  engine::Clock& clock_;
  const BroadcastPorts ports_;
  const BroadcastTuning tuning_;
  // Saves not yet durable, newest value per broadcast, so a read right
  // after a save sees it. With the count of saves in flight.
  std::map<std::string, std::pair<Broadcast, int>> unsaved_;
  std::unique_ptr<Audience> audience_;
  std::unique_ptr<Messages> messages_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace orch::phases::broadcast
