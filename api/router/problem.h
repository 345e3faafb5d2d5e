// RFC 7807 problem details (application/problem+json) for every error reply
// of the REST API, written by http::problem_response (adapters/http/problem_details.h).
#pragma once

#include <string>
#include <vector>

#include "adapters/http/http_message.h"
#include "phases/campaign/campaign_input.h"

namespace orch::api {

// `type` is a short slug, e.g. "validation-error", rendered as
// "https://campaign-orchestrator.dev/problems/<slug>".
http::Response problem(int status, const std::string& type, const std::string& title,
                       const std::string& detail, const std::string& instance = "",
                       const std::vector<phases::FieldError>& errors = {});

}  // namespace orch::api
