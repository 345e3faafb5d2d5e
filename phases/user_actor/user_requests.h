// The shapes of the requests the user actor's handlers take, checked before
// anything is called (the handlers trust them): every problem found is
// returned, empty when the request is valid.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "phases/campaign/campaign_input.h"

namespace orch::phases::user_actor {

// A user id: 1 to 128 of A-Z a-z 0-9 . _ - @ +
bool valid_user_id(const std::string& id);

// PUT /v1/users/{id}: the seed's init body (max_messages_per_day, ..._per_week,
// ..._per_month, min_hours_between_messages, max_emails_per_week,
// max_<channel>_per_week) plus timezone, quiet_hours {start, end},
// rolling [day|week|month] and preferences (an object).
std::vector<FieldError> validate_settings(const nlohmann::json& body);

// opt-out / opt-in: {channel}.
std::vector<FieldError> validate_channel_body(const nlohmann::json& body);

// A reservation: {campaign_id, channel, message_id, priority?, on_capped?,
// obeys_caps?, counts_toward_caps?, ttl_seconds?, campaign_name?}.
std::vector<FieldError> validate_reservation(const nlohmann::json& body);

}  // namespace orch::phases::user_actor
