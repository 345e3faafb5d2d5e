// What every load of the crash harness does to reach a server that is
// SIGKILLed and restarted under it: send until it answers below 500.
#pragma once

#include <atomic>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "adapters/http/http_message.h"

namespace orch::testing {

// Sends `method target` with `body` (null: none) to `base` until the server
// answers below 500, at most 3,000 tries 10 ms apart, each failed try
// counted in *retries; the status and parsed body, or {0, null} if it never
// answered. One keep-alive client per calling thread.
std::pair<int, nlohmann::json> call_until_answered(const std::string& base,
                                                   const std::string& method,
                                                   const std::string& target,
                                                   const nlohmann::json& body,
                                                   const http::Headers& headers,
                                                   std::atomic<long long>* retries);

}  // namespace orch::testing
