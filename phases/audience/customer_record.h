// A customer of an audience: a JSON object checked before it is stored, so
// everything downstream (CSV import, message templates, sends) trusts it.
//
//   id                 required; a user id (user_actor::valid_user_id): the
//                      customer is the user of the user actor with that id
//   phone              required; E.164, e.g. +254712345001
//   first_name, last_name, location, preferred_product
//                      optional strings of at most 256 bytes
//   email              optional; one '@', a local part, a domain with a dot
//   timezone           optional IANA name, e.g. Africa/Nairobi
//   attributes         optional object of at most 50 keys (1 to 64 bytes)
//                      whose values are strings (at most 256 bytes),
//                      numbers or booleans
// Unknown fields are refused.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "phases/campaign/campaign_input.h"  // FieldError

namespace orch::phases::audience {

enum class CustomerCheck {
  create,  // a whole record: id and phone required, null refused
  patch,   // a merge patch: every field optional, null removes an optional
           // field; id may not appear (a customer keeps its id)
};

// '+' then 2 to 15 digits, the first 1 to 9, nothing else.
bool valid_e164(std::string_view phone);

// A plausible address, not a deliverable one: at most 254 bytes, exactly one
// '@', a non-empty local part, a domain with a dot not at either end, no
// spaces or control characters.
bool valid_email(std::string_view email);

// An attribute key: 1 to 64 bytes of UTF-8 (a CSV column name may be
// neither).
bool valid_attribute_key(const std::string& key);

// Every problem found in `body`, empty when it is valid for `mode`. A patch
// is checked alone: limits that span the stored record and the patch (50
// attributes) are caught by checking apply_patch's result in create mode.
std::vector<FieldError> check_customer(const nlohmann::json& body, CustomerCheck mode);

// `customer` with `patch` merged in (RFC 7396 style): a field set to null is
// removed; `attributes` is merged key by key, a null value removing the key
// (and an emptied object removing `attributes`).
// REQUIRES: check_customer(patch, CustomerCheck::patch) is empty.
nlohmann::json apply_patch(const nlohmann::json& customer, const nlohmann::json& patch);

// The text of one field for a message: `name` is a top-level field
// ("first_name") or "attributes.<key>". Strings as they are, numbers and
// booleans as JSON text, "" when absent.
std::string customer_field(const nlohmann::json& customer, std::string_view name);

}  // namespace orch::phases::audience
