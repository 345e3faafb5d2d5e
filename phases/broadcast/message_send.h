// One broadcast message to one customer: the fan-out's ItemWork for a
// broadcast (engine/fanout/fan_out_runner.h). The item's key is the
// customer id; its detail {"content", "to"} was rendered when the audience
// was drawn.
//
// Like a campaign's per-user sends (phases/campaign/recipient_sends.h), the
// message "<broadcast>:<customer>" goes through the customer's user actor:
//  - committed already (a re-run after a crash): sent, not sent again;
//  - pending (reserved before a crash, never settled): sent with that
//    reservation, then committed;
//  - otherwise reserved (on_capped drop): denied -> skipped with the actor's
//    reason; granted -> sent through the channel's gateway with the
//    Idempotency-Key "<broadcast>:<customer>" (the gateway drops a resend),
//    then committed. A send that failed is released (no slot burnt).
// The gateway's answer decides the outcome: 2xx sent; 5xx, 429, a timeout
// retryable (the fan-out backs off, 3 attempts); the breaker open or the
// bulkhead full deferred (no attempt spent); another 4xx failed at once,
// except Twilio 21610 (the recipient unsubscribed): the customer is opted
// out of the channel and the message skipped.
#pragma once

#include <string>

#include "engine/fanout/fan_out_runner.h"
#include "phases/ports.h"

namespace orch::phases::broadcast {

struct SendJob {
  std::string broadcast_id;
  std::string name;      // the email subject
  std::string channel;   // sms | whatsapp | email | push
  int round = 0;         // 0: the first send; n: the n-th retry of the failed
  MessageGateway* messaging = nullptr;  // sms, whatsapp, push
  EmailSender* email = nullptr;         // email
  RecipientGate* gate = nullptr;
  // The delivery receipts' URL ("<public url>/v1/webhooks/twilio/status"),
  // given to Twilio with each SMS and WhatsApp message with the query that
  // names it; "" = no receipts.
  std::string receipts_url;
};

// The message id the customer's actor knows it by, also the gateway's key.
std::string message_key(const std::string& broadcast_id, const std::string& customer_id);

// REQUIRES: the job's ports outlive the call; on the engine's thread.
void send_message(const SendJob& job, const engine::FanOutItem& item, int attempt,
                  std::function<void(engine::ItemOutcome)> done);

}  // namespace orch::phases::broadcast
