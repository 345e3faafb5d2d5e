// Customers as documents of the "customers" collection (document_store.h):
// the body is the customer's JSON (customer_record.h) without its times,
// index_a its location, so a segment by location is one indexed range.
// A customer's id is also its user actor's key: one identity, so the caps
// and opt-outs of /v1/users hold for messages to customers.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "engine/journal/document_store.h"

namespace orch::phases::audience {

inline constexpr const char* kCustomers = "customers";

// The document of `customer` (an object with an "id"), written at `now`.
engine::Document customer_document(const nlohmann::json& customer, engine::TimeMs now);
// The customer as the API shows it: its fields and created_at, updated_at.
nlohmann::json customer_view(const engine::Document& document);
// The customer's fields alone (no times), or an empty object when the body
// cannot be read.
nlohmann::json customer_fields(const engine::Document& document);

}  // namespace orch::phases::audience
