// Small pieces every routes file uses: JSON replies, the common problems,
// query parameters, and the caller's identity in a body.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/http/http_server.h"
#include "api/server/auth.h"
#include "engine/common/status.h"
#include "phases/campaign/campaign_input.h"

namespace orch::api {

http::Response ok_json(int status, const nlohmann::json& body);
http::Response not_found(const http::Request& request, const std::string& detail);
// 422 validation-error naming each bad field.
http::Response invalid(const http::Request& request, const std::string& detail,
                       const std::vector<phases::FieldError>& errors);
// 503 journal-unavailable: the store could not be read or written (`s`
// says why); a retry may do.
http::Response unavailable(const http::Request& request, const Status& s);
// 400 bad-query naming each bad query parameter.
http::Response bad_query(const http::Request& request,
                         const std::vector<phases::FieldError>& errors);

// Parses a positive integer query parameter within [1, max] into *out
// (`fallback` when absent); false, with an error added, when it is not one.
bool query_number(const http::Request& request, const char* name, std::size_t fallback,
                  std::size_t max, std::size_t* out, std::vector<phases::FieldError>* errors);
// Adds an error for each query parameter not in `allowed`.
void check_query_names(const http::Request& request, const std::set<std::string>& allowed,
                       std::vector<phases::FieldError>* errors);

// With authentication on, `field` of a body names the acting identity: it
// must be absent or the token's subject, and becomes the token's subject.
// False after answering 403.
bool bind_identity(nlohmann::json& body, const char* field, const Principal* who,
                   const http::Request& request, const http::Responder& respond);
// The caller as journaled with what it did (null without authentication).
nlohmann::json actor_of(const Principal* who);

// 12 random hex digits, for generated ids.
std::string random_suffix();

}  // namespace orch::api
