// What a campaign with target_user_ids adds to its workflow's views (GET
// /v1/workflows/{id} and /progress): the per-user delivery of its messaging
// channel steps (recipient_sends.h), summed over those steps.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace orch::phases {

// With target_user_ids in `input`: {users_targeted, users_sent,
// users_skipped, users_failed, recipients: [{user_id, channel, status,
// reason}]}. users_targeted counts a message per target user and selected
// messaging channel (sms, whatsapp, push, in_app) from the start; the other
// counts and `recipients` grow as the channel steps complete (`outputs`: the
// completed steps' outputs by step id). Without target_user_ids: an empty
// object.
nlohmann::json recipient_report(const nlohmann::json& input,
                                const std::map<std::string, nlohmann::json>& outputs);

}  // namespace orch::phases
