// Test helpers: a Sandbox served over real HTTP on 127.0.0.1 (ephemeral port)
// from its own io thread, and a blocking client on another io thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/http/http_client.h"
#include "adapters/http/http_message.h"
#include "adapters/sandbox/sandbox.h"
#include "phases/ports.h"

namespace boost::asio {
class io_context;
}

namespace orch::testing {

class TestSandbox {
 public:
  // With `record_requests`, every request is also kept (see requests()).
  explicit TestSandbox(sandbox::SandboxOptions options = {}, bool record_requests = false);
  ~TestSandbox();
  TestSandbox(const TestSandbox&) = delete;
  TestSandbox& operator=(const TestSandbox&) = delete;

  sandbox::Sandbox& sandbox();
  std::string base_url() const;  // "http://127.0.0.1:<port>"
  boost::asio::io_context& io();

  // Recorded requests (copies), oldest first; empty unless recording.
  std::vector<http::Request> requests() const;
  // The last recorded request whose path starts with `path_prefix`.
  std::optional<http::Request> last_request(const std::string& path_prefix) const;
  void clear_requests();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// An HttpClient on its own io thread, with blocking helpers.
class TestClient {
 public:
  TestClient();
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  http::HttpClient& client();
  boost::asio::io_context& io();

  // Sends and waits for the result.
  http::CallResult send(const std::string& base_url, http::Request request,
                        http::CallOptions options = no_retries());
  // Convenience: a JSON (or empty) body and optional extra headers.
  http::CallResult call(const std::string& base_url, const std::string& method,
                        const std::string& target, const std::string& body = "",
                        http::Headers headers = {}, http::CallOptions options = no_retries());

  // Runs `start(callback)` and waits for the ServiceResult it delivers.
  static phases::ServiceResult await(
      const std::function<void(phases::ServiceCallback)>& start,
      std::chrono::milliseconds limit = std::chrono::seconds(20));

  static http::CallOptions no_retries() {
    http::CallOptions o;
    o.max_retries = 0;
    o.timeout = std::chrono::seconds(10);
    return o;
  }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses a response body as JSON (null when it is not JSON).
nlohmann::json body_json(const http::Response& response);

}  // namespace orch::testing
