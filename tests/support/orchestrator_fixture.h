// Starts a real orchestrator (REST on 127.0.0.1, ephemeral port, SQLite in a
// temporary directory) and talks to it over HTTP like any client.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/http/blocking_http.h"
#include "api/server/orchestrator_app.h"

namespace orch::testing {

// A temporary directory removed on destruction.
struct TempDir {
  TempDir();
  ~TempDir();
  std::filesystem::path path;
};

// The standard input: one competitor URL, channels email, social, blog (15
// forward side effects).
nlohmann::json sample_campaign(const std::string& name = "Test Campaign");

struct HttpReply {
  int status = 0;
  nlohmann::json body;
  std::string raw;
  http::Headers headers;
};

class ApiClient {
 public:
  // `ca_file`: the CA to trust when `base_url` is https:// ("" = the system's).
  // Never through a proxy: the servers under test are on this machine.
  explicit ApiClient(std::string base_url, const std::string& ca_file = "");
  HttpReply call(const std::string& method, const std::string& target,
                 const std::string& body = "", http::Headers headers = {});
  HttpReply post(const std::string& target, const nlohmann::json& body, http::Headers headers = {}) {
    return call("POST", target, body.dump(), std::move(headers));
  }
  HttpReply get(const std::string& target) { return call("GET", target); }
  // Polls GET /v1/workflows/{id} until its status is `status` (or a terminal
  // one); returns the last state. Fails the test after `timeout`.
  nlohmann::json wait_for_status(const std::string& id, const std::string& status,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void set_base(std::string base) { base_ = std::move(base); }

 private:
  std::string base_;
  http::BlockingHttp http_;
};

api::AppConfig test_config(const std::filesystem::path& dir);

// Polls `done` every 10 ms until it holds or `limit` has passed; its last
// answer (for waits on what servers do in the background).
bool eventually(const std::function<bool()>& done,
                std::chrono::milliseconds limit = std::chrono::seconds(30));

// A distinct valid E.164 phone number for test customer `i` (+2547 and
// eight digits).
std::string test_phone(int i);

// The whole file (empty if it cannot be read), bytes as they are.
std::string read_file(const std::filesystem::path& path);

// A test with its own orchestrator and in-process sandbox (test_config).
class AppTest : public ::testing::Test {
 protected:
  void SetUp() override;
  // POST /v1/campaigns, expecting 201; returns the workflow id.
  std::string start(const nlohmann::json& input, http::Headers headers = {});
  // POST /sandbox/faults, expecting 201.
  void inject(const nlohmann::json& fault);

  TempDir dir_;
  std::unique_ptr<api::OrchestratorApp> app_;
  std::unique_ptr<ApiClient> client_;
  std::unique_ptr<ApiClient> sandbox_;
};

// A test with its own orchestrator and in-process sandbox under a ManualClock
// the test moves (deadlines, idle thresholds), restartable on the same store.
class ManualClockAppTest : public ::testing::Test {
 protected:
  void SetUp() override { start_app(test_config(dir_.path)); }
  void start_app(const api::AppConfig& config);
  // POST /v1/campaigns, expecting 201; returns the workflow id.
  std::string start(const nlohmann::json& input);
  // Lets the engine act on everything already queued (timer checks included)
  // and waits until what it appended is durable: a workflow a query shows in
  // a new state may still have that commit in flight, and is busy until then.
  void settle();

  engine::ManualClock clock_;
  TempDir dir_;
  std::unique_ptr<api::OrchestratorApp> app_;
  std::unique_ptr<ApiClient> client_;
};

}  // namespace orch::testing
