// Each fake service's own error body, for faults injected with "error"
// (the table in sandbox.h).
#include <string>
#include <string_view>

#include "adapters/sandbox/fake_services.h"

namespace orch::sandbox {

using nlohmann::json;
using http::Response;

namespace {

const char* google_status(int status) {
  switch (status) {
    case 400:
      return "INVALID_ARGUMENT";
    case 401:
      return "UNAUTHENTICATED";
    case 403:
      return "PERMISSION_DENIED";
    case 404:
      return "NOT_FOUND";
    case 409:
      return "ABORTED";
    case 429:
      return "RESOURCE_EXHAUSTED";
    case 501:
      return "UNIMPLEMENTED";
    case 503:
      return "UNAVAILABLE";
    case 504:
      return "DEADLINE_EXCEEDED";
    default:
      return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

// FCM's ErrorCode for an HTTP status (FCM v1 reference, ErrorCode).
const char* fcm_error_code(int status) {
  switch (status) {
    case 400:
      return "INVALID_ARGUMENT";
    case 401:
      return "THIRD_PARTY_AUTH_ERROR";
    case 403:
      return "SENDER_ID_MISMATCH";
    case 404:
      return "UNREGISTERED";
    case 429:
      return "QUOTA_EXCEEDED";
    case 503:
      return "UNAVAILABLE";
    default:
      return status >= 500 ? "INTERNAL" : "UNSPECIFIED_ERROR";
  }
}

// Notion's "code" for an HTTP status (Notion reference, status codes).
const char* notion_code(int status) {
  switch (status) {
    case 401:
      return "unauthorized";
    case 403:
      return "restricted_resource";
    case 404:
      return "object_not_found";
    case 409:
      return "conflict_error";
    case 429:
      return "rate_limited";
    case 503:
      return "service_unavailable";
    case 504:
      return "gateway_timeout";
    default:
      return status >= 500 ? "internal_server_error" : "validation_error";
  }
}

// Twilio's error code for an HTTP status: the documented generic ones.
int twilio_code(int status) {
  switch (status) {
    case 401:
      return 20003;  // Authenticate
    case 404:
      return 20404;  // Not Found
    case 429:
      return 20429;  // Too Many Requests
    default:
      return status >= 500 ? 20500 : 21211;  // Internal Server Error; Invalid 'To'
  }
}

}  // namespace

Response service_error(std::string_view service, int status, const std::string& reason) {
  if (service == "slack") return json_response(status, {{"ok", false}, {"error", reason}});
  if (service == "sendgrid") return sendgrid_error(status, "", reason);
  if (service == "github") return github_error(status, reason);
  if (service == "notion")
    return json_response(status, {{"object", "error"},
                                  {"status", status},
                                  {"code", notion_code(status)},
                                  {"message", reason}});
  if (service == "figma") return json_response(status, {{"status", status}, {"err", reason}});
  if (service == "slm")
    return json_response(status,
                         {{"error",
                           {{"message", reason},
                            {"type", status >= 500 ? "server_error" : "invalid_request_error"},
                            {"param", nullptr},
                            {"code", nullptr}}}});
  if (service == "twilio") return twilio_error(status, twilio_code(status), reason);
  if (service == "fcm")
    return json_response(
        status, {{"error",
                  {{"code", status},
                   {"message", reason},
                   {"status", google_status(status)},
                   {"details",
                    json::array({{{"@type", "type.googleapis.com/google.firebase.fcm.v1.FcmError"},
                                  {"errorCode", fcm_error_code(status)}}})}}}});
  if (service == "buffer")
    return json_response(status, {{"success", false}, {"code", status}, {"message", reason}});
  if (service == "grafana") return json_response(status, {{"message", reason}});
  if (service == "rewards") return rewards_error(status, reason);
  return json_response(status, {{"error", reason}});  // tool_service, memory_gateway
}

}  // namespace orch::sandbox
