#include "tests/support/orchestrator_fixture.h"

#include <gtest/gtest.h>

#include "adapters/sandbox/sandbox.h"
#include "phases/campaign/campaign_input.h"

#include <fstream>
#include <sstream>

#include <random>
#include <thread>

namespace orch::testing {

TempDir::TempDir() {
  std::random_device rd;
  path = std::filesystem::temp_directory_path() /
         ("orch-test-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(path);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

nlohmann::json sample_campaign(const std::string& name) {
  return phases::sample_campaign_input(name, {"alice", "bob"});
}

namespace {
// The servers under test are on this machine: never through a proxy.
std::shared_ptr<const http::ConnectionSettings> trusting(const std::string& ca_file) {
  if (ca_file.empty()) return http::direct_connection();
  auto settings = std::make_shared<http::ConnectionSettings>(*http::direct_connection());
  settings->ca_file = ca_file;
  return settings;
}
}  // namespace

ApiClient::ApiClient(std::string base_url, const std::string& ca_file)
    : base_(std::move(base_url)), http_(trusting(ca_file)) {}

HttpReply ApiClient::call(const std::string& method, const std::string& target,
                          const std::string& body, http::Headers headers) {
  auto r = http_.call(base_, method, target, body, std::move(headers));
  HttpReply reply;
  if (!r.ok()) {
    ADD_FAILURE() << method << " " << target << ": " << r.error_message;
    return reply;
  }
  reply.status = r.response.status;
  reply.raw = r.response.body;
  reply.headers = r.response.headers;
  reply.body = nlohmann::json::parse(r.response.body, nullptr, false);
  return reply;
}

nlohmann::json ApiClient::wait_for_status(const std::string& id, const std::string& status,
                                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  nlohmann::json last;
  while (std::chrono::steady_clock::now() < deadline) {
    HttpReply r = get("/v1/workflows/" + id);
    if (r.status == 200) {
      last = r.body;
      const std::string s = last.value("status", "");
      if (s == status && (s == "completed" || s == "failed" || s == "cancelled")) {
        // Queries show a transition once it is decided; its record is durable
        // at the next group commit. Tests that read the journal next wait for it.
        const nlohmann::json page = get("/v1/workflows/" + id + "/history?page_size=1000").body;
        if (!page["data"].empty() && page["data"].back()["type"] == "workflow_finished")
          return last;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        continue;
      }
      if (s == status) return last;
      if ((s == "completed" || s == "failed" || s == "cancelled")) {
        ADD_FAILURE() << "workflow " << id << " ended " << s << " while waiting for " << status
                      << ": " << last.value("reason", "");
        return last;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "workflow " << id << " did not reach " << status << "; last: " << last.dump();
  return last;
}

api::AppConfig test_config(const std::filesystem::path& dir) {
  api::AppConfig config;
  config.listen_port = 0;
  config.store_url = "sqlite:" + (dir / "journal.db").string();
  config.sandbox = true;
  config.log_level = "warn";
  config.tuning.retry_initial_interval = std::chrono::milliseconds(10);
  config.tuning.retry_max_interval = std::chrono::milliseconds(100);
  config.tuning.retry_full_jitter = false;  // tests assert exact deadlines
  config.auth.enabled = false;               // auth_test turns it on
  return config;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

std::string test_phone(int i) {
  const std::string digits = std::to_string(i);
  return "+2547" + std::string(8 - digits.size(), '0') + digits;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void AppTest::SetUp() {
  app_ = std::make_unique<api::OrchestratorApp>(test_config(dir_.path));
  ASSERT_EQ(app_->start(), "");
  client_ = std::make_unique<ApiClient>(app_->base_url());
  sandbox_ = std::make_unique<ApiClient>(app_->sandbox()->base_url());
}

std::string AppTest::start(const nlohmann::json& input, http::Headers headers) {
  HttpReply r = client_->post("/v1/campaigns", input, std::move(headers));
  EXPECT_EQ(r.status, 201) << r.raw;
  return r.body.value("workflow_id", "");
}

void ManualClockAppTest::start_app(const api::AppConfig& config) {
  app_ = std::make_unique<api::OrchestratorApp>(config, &clock_);
  ASSERT_EQ(app_->start(), "");
  client_ = std::make_unique<ApiClient>(app_->base_url());
}

std::string ManualClockAppTest::start(const nlohmann::json& input) {
  HttpReply r = client_->post("/v1/campaigns", input);
  EXPECT_EQ(r.status, 201) << r.raw;
  return r.body.value("workflow_id", "");
}

void ManualClockAppTest::settle() {
  for (int i = 0; i < 3; ++i) app_->run_on_engine([] {});
  app_->wait_until_durable();
}

void AppTest::inject(const nlohmann::json& fault) {
  HttpReply r = sandbox_->post("/sandbox/faults", fault);
  ASSERT_EQ(r.status, 201) << r.raw;
}

}  // namespace orch::testing
