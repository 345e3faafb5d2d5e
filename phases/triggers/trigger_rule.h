// An event trigger: when a customer event of `event_type` satisfies the
// conditions (trigger_conditions.h), do the action for the customer the
// event names (its subject).
//
//   {"name": "big spender credit", "event_type": "purchase",
//    "conditions": {"all": [{"field": "data.amount", "op": ">", "value": 50}]},
//    "re_eligibility": "every",
//    "action": {"type": "reward", "amount": 10, "currency": "USD"}}
//
// Fields (check_trigger refuses anything else, naming each problem):
//   name            required; 1 to 200 bytes, not blank
//   description     optional; a string of at most 2,000 bytes
//   event_type      required; 1 to 128 of A-Z a-z 0-9 . _ : / -
//   conditions      optional; absent, the trigger matches every event of
//                   its type
//   active          optional boolean, true by default
//   window          optional {"starts_at": <RFC 3339>, "ends_at": <RFC 3339>},
//                   both optional, after 1970; ends_at after starts_at. The
//                   trigger acts on events at or after starts_at and before
//                   ends_at (in_window).
//   re_eligibility  optional; "every" (the default: every matching event),
//                   "once" (once per customer ever) or {"once_per_hours": N}
//                   (at most once per customer in any N hours; N a number
//                   in (0, 87600], ten years)
//   action          required; one of
//     {"type": "reward", "amount": A, "currency": "USD"}: A a number in
//         (0, 1,000,000] with at most 2 decimals; currency 3 of A-Z
//     {"type": "message", "channel": "sms"|"whatsapp"|"email"|"push",
//      "template": "Hi {first_name|there}, ...", "name": <subject>}: the
//         template as a broadcast's (message_template.h; unknown
//         placeholders are listed); name optional, 1 to 200 bytes
//     {"type": "campaign", "input": {...}}: a six-phase campaign's
//         CampaignInput (campaign_input.h) WITHOUT target_user_ids, audience
//         and workflow_id: for each event the engine starts the campaign
//         with target_user_ids [the event's customer] and a workflow id of
//         its own, so the input must not set them.
//   id, version     set by the store, never by a body
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/time/clock.h"
#include "phases/audience/message_template.h"
#include "phases/campaign/campaign_input.h"  // FieldError
#include "phases/triggers/trigger_conditions.h"

namespace orch::phases::triggers {

enum class TriggerCheck {
  create,  // a whole trigger: name, event_type and action required, null refused
  patch,   // a merge patch of top-level fields: each optional, null removes an
           // optional field (name, event_type and action cannot be removed)
};

enum class ReEligibility { once, every, once_per_period };

enum class ActionType { reward, message, campaign };

struct TriggerAction {
  ActionType type = ActionType::reward;

  // reward
  std::int64_t amount_hundredths = 0;  // the amount x 100, exact: 10.25 is 1025
  std::string currency;

  // message
  std::string channel;
  std::string template_text;
  std::optional<audience::MessageTemplate> compiled;  // template_text, compiled once
  std::string subject;                                // "name"; "" when absent

  // campaign: a CampaignInput without target_user_ids, audience, workflow_id
  nlohmann::json campaign_input;
};

struct TriggerRule {
  std::string id;            // "" before the store names it
  std::int64_t version = 0;  // 0 before it is stored
  std::string name;
  std::string description;
  std::string event_type;
  Condition conditions;  // the default (no conditions) matches every event
  bool active = true;
  engine::TimeMs starts_at = 0;  // 0: open
  engine::TimeMs ends_at = 0;    // 0: open
  ReEligibility re_eligibility = ReEligibility::every;
  engine::TimeMs period_ms = 0;  // once_per_period only; at least 1
  TriggerAction action;
};

// Every problem found in `body`, empty when it is valid for `mode`. Each
// field is checked whole and no rule spans two fields, so a valid patch
// applied to a valid trigger (apply_trigger_patch) gives a valid trigger.
std::vector<FieldError> check_trigger(const nlohmann::json& body, TriggerCheck mode);

// The rule a stored trigger holds; `id` and `version` are read when present.
// REQUIRES: `stored` less id and version passed check_trigger create.
TriggerRule parse_trigger(const nlohmann::json& stored);

// `stored` with `patch` merged into its top level: a field set to null is
// removed, any other replaces the field whole (conditions, window and
// action too). id and version are left as they are.
// REQUIRES: check_trigger(patch, TriggerCheck::patch) is empty.
nlohmann::json apply_trigger_patch(const nlohmann::json& stored, const nlohmann::json& patch);

// Whether `at` is inside the rule's window: starts_at <= at < ends_at, an
// open end bounding nothing.
bool in_window(const TriggerRule& rule, engine::TimeMs at);

}  // namespace orch::phases::triggers
