// The user actor: one durable entity per user ("user:<id>", engine/entity/)
// holding that user's frequency caps, time zone, quiet hours, channel
// opt-outs, preferences, message history and counters. Every campaign asks
// it before it sends, so the caps hold across all of them.
//
// Sending is reserve, then commit or release: `reserve` grants (or defers,
// or denies with the blocking rule) in one exclusive call, so two campaigns
// can never both see "allowed" for the last slot; the campaign sends, then
// commits (the message is recorded) or releases (the send failed, no slot is
// burnt). A reservation not committed within its TTL releases itself.
//
// Handlers (requests are validated by the REST layer, see users_routes):
//   configure   {max_messages_per_day?, ..._per_week?, ..._per_month?,
//                min_hours_between_messages?, max_<channel>_per_week?,
//                timezone?, quiet_hours? {start, end}, rolling? [day|week|month],
//                preferences?}  -> the user's view (replaces the settings)
//   opt_out / opt_in {channel}
//   reserve     {campaign_id, channel, message_id, priority?, on_capped?,
//                obeys_caps?, counts_toward_caps?, ttl_seconds?, campaign_name?}
//               -> {reservation_id, status: granted|deferred|denied, reason,
//                   next_eligible_at?}
//   commit / release {reservation_id}
// Queries: view, eligibility {channel},
//   message {message_id} -> {message_id, state: committed|pending|unknown,
//                            reservation_id? (when pending)}
//   (committed: still in the history kept, see kHistoryKept).
#pragma once

#include <string>

#include "engine/entity/entity_definition.h"

namespace orch::phases::user_actor {

inline constexpr const char* kKind = "user";

// How long a granted reservation holds its slot unless committed.
inline constexpr engine::TimeMs kDefaultReservationTtlMs = 15 * 60 * 1000;
inline constexpr engine::TimeMs kMaxReservationTtlMs = 24 * 3600 * 1000;
// How far ahead a deferred reservation may be granted.
inline constexpr engine::TimeMs kDeferWindowMs = 7LL * 24 * 3600 * 1000;
// History kept: at least this many messages, and everything within the
// longest cap window.
inline constexpr std::size_t kHistoryKept = 1000;
// Messages shown in the view.
inline constexpr std::size_t kRecentShown = 20;

engine::EntityDefinition user_actor_definition();

}  // namespace orch::phases::user_actor
