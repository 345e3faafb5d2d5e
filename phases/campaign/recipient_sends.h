// The messaging channels (sms, whatsapp, push, in_app) of a campaign with
// target_user_ids: one message per targeted user through the channel's
// gateway, each reserved with, then committed to or released by, that
// user's actor (RecipientGate), so caps and opt-outs hold across campaigns.
//
// Per user, with message_id "<workflow_id>:<channel>:<user_id>":
//  - committed already (a re-run after a crash): counted sent, not sent again;
//  - pending (reserved before a crash, not settled): sent with that
//    reservation, then committed;
//  - otherwise reserved (on_capped drop; the idempotency key is the message
//    id and the attempt, so a repeat within an attempt gets the first
//    answer and a retry after a release reserves afresh): denied -> skipped
//    with the actor's reason; granted -> sent to the user (the gateway
//    call's idempotency key "<workflow_id>:<step>[<user_id>]" lets the
//    service drop a resend), then committed. A failed send is released (no
//    slot burnt); a gateway's "recipient opted out" answer also opts the
//    user out of the channel and the user is skipped.
// At most kRecipientSendsInFlight users are in progress at a time.
//
// The step's output: {channel, users_targeted, users_sent, users_skipped,
// users_failed, recipients: [{user_id, status: sent|skipped|failed, reason}]}.
// The step fails instead when a send failed transiently, or when nothing
// was sent and a send failed for good (RecipientSends::complete in the .cpp).
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/workflow/activity.h"
#include "phases/ports.h"

namespace orch::phases {

// Four channel steps of one campaign run side by side: 32 sends at most,
// half the messaging service's default bulkhead (64).
inline constexpr std::size_t kRecipientSendsInFlight = 8;

// Whether the campaign input names users to send to one by one.
bool has_target_users(const nlohmann::json& input);

// Runs the channel step `r` (step id "distribution.<channel>") for every
// user of r.input's target_user_ids, sending `body`. `done` is called once,
// on the engine's thread. REQUIRES: the gateway and the gate outlive the
// call; called on the engine's thread.
void send_to_recipients(const engine::ActivityRequest& r, const std::string& channel,
                        const std::string& body, MessageGateway& gateway, RecipientGate& gate,
                        engine::ActivityDone done);

// The compensation of such a step. Sent messages cannot be recalled (they
// went out at once; Twilio cancels only scheduled messages and FCM none), so
// nothing is cancelled and no reservation is released: the messages stay
// sent and keep counting toward the users' caps. The result records that:
// {channel, users_kept, kept: [user ids sent], released: 0, note}.
nlohmann::json kept_recipients(const nlohmann::json& forward_output);

}  // namespace orch::phases
