// The sms and whatsapp channels of a campaign with an `audience`
// ({"customer_ids": [...]} or {"segment": {...}}, campaign_input.h): the
// channel's distribution is sent as a broadcast (phases/broadcast/), one
// message per customer through the customer's user actor, so caps and
// opt-outs hold across campaigns and broadcasts alike.
//
// The broadcast is "bc-<workflow_id>-<channel>" (GET /v1/broadcasts/{id}
// and its messages show it), named after the campaign, its template the
// channel's generated content (what the step would have sent to
// target_audience) with literal braces doubled so generated text is never
// read as placeholders, after a greeting: "Hi {first_name|there}, <content>",
// cut to the template limit (1,600 bytes). It is sent by
// Broadcasts::send_now inside the step; a re-run after a crash resumes the
// same fan-out. Customers missing at send time are recorded as skipped
// "no such customer".
//
// The step's output: {broadcast_id, channel, total, sent, failed, skipped}.
// It fails retryably only when the store fails; permanently when nothing
// was sent and some message failed for good (as recipient_sends.h does),
// or when the broadcasts are not wired in.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "engine/workflow/activity.h"

namespace orch::phases {

namespace broadcast {
class Broadcasts;
}

// Whether the campaign input names an audience.
bool has_audience(const nlohmann::json& input);

// "bc-<workflow_id>-<channel>".
std::string audience_broadcast_id(const std::string& workflow_id, const std::string& channel);

// The broadcast template for generated `content` (see the file comment).
std::string audience_template(const std::string& content);

// Runs the channel step `r` (step id "distribution.<channel>") as a
// broadcast of `content` to r.input's audience. `broadcasts` may be null
// (not wired in): the step then fails permanently. REQUIRES: on the
// engine's thread; `broadcasts` outlives the call.
void send_to_audience(const engine::ActivityRequest& r, const std::string& channel,
                      const std::string& content, broadcast::Broadcasts* broadcasts,
                      engine::ActivityDone done);

// The compensation of such a step: messages cannot be recalled, so nothing
// is; the result records that: {channel, broadcast_id, messages_kept,
// released: 0, note}.
nlohmann::json kept_broadcast(const nlohmann::json& forward_output);

}  // namespace orch::phases
