// The REST API's documentation, served from memory: the OpenAPI 3.1
// document (docs/reference/openapi.json) at GET /openapi.json, and Swagger
// UI (api/docs_ui/) at GET /docs, which renders it and loads nothing but
// /docs/* and /openapi.json from this server.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http/http_message.h"

namespace orch::api {

// GET /openapi.json: the document, application/json.
http::Response openapi_document();
// GET /docs: the HTML page.
http::Response docs_page();
// GET /docs/{asset}: a file the page loads; nullopt for any other name.
std::optional<http::Response> docs_asset(std::string_view name);
// The paths the three answer, e.g. "/docs/swagger-ui.css": open without a
// token by default (AuthConfig::open_paths), so the page loads as it is.
std::vector<std::string> docs_paths();

}  // namespace orch::api
