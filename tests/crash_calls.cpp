#include "tests/crash_calls.h"

#include <chrono>
#include <thread>

#include "adapters/http/blocking_http.h"

namespace orch::testing {

std::pair<int, nlohmann::json> call_until_answered(const std::string& base,
                                                   const std::string& method,
                                                   const std::string& target,
                                                   const nlohmann::json& body,
                                                   const http::Headers& headers,
                                                   std::atomic<long long>* retries) {
  thread_local http::BlockingHttp client{http::direct_connection()};
  for (int attempt = 0; attempt < 3000; ++attempt) {
    auto r = client.call(base, method, target, body.is_null() ? "" : body.dump(), headers,
                         std::chrono::seconds(10));
    if (r.ok() && r.response.status < 500)
      return {r.response.status, nlohmann::json::parse(r.response.body, nullptr, false)};
    ++*retries;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {0, nullptr};
}

}  // namespace orch::testing
