// Parsing and shape checks shared by every route that takes a JSON body.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/http/http_message.h"
#include "phases/campaign/campaign_input.h"

namespace orch::api {

inline constexpr std::size_t kMaxJsonDepth = 32;

// Parses a request body as a JSON object. On failure fills *error with a
// ready problem response (400 malformed / too deep, 415 wrong media type).
std::optional<nlohmann::json> parse_object(const http::Request& request, bool allow_empty,
                                           http::Response* error);

// The same for a body of any JSON value (an object or an array of them).
std::optional<nlohmann::json> parse_json_body(const http::Request& request, bool allow_empty,
                                              http::Response* error);

// Checks `body` against a flat schema: required/optional string fields with a
// maximum length; anything else is an unknown field.
struct StringField {
  std::string name;
  bool required;
  std::size_t max_length;
};
std::vector<phases::FieldError> check_string_fields(const nlohmann::json& body,
                                                    const std::vector<StringField>& fields);

// Reads the optional Idempotency-Key header into *key ("" when absent).
// Returns false and fills *error (400) when present but not 1-200 visible
// ASCII characters.
bool read_idempotency_key(const http::Request& request, std::string* key,
                          http::Response* error);

}  // namespace orch::api
