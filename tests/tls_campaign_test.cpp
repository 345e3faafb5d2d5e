// Campaigns against the sandbox served over HTTPS, as they would run against
// the real services: a whole campaign with verified TLS; the three ways a
// certificate is refused, each failing the step with its classified error
// and counted by the service's breaker; a CA file trusting a private CA; a
// CONNECT proxy carrying the campaign, and NO_PROXY going around it.
#include <cstdlib>
#include <map>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "adapters/services/adapter_config.h"
#include "tests/support/connect_proxy.h"
#include "tests/support/orchestrator_fixture.h"
#include "tests/support/sandbox_fixture.h"
#include "tests/support/test_ca.h"

namespace orch::testing {
namespace {

using nlohmann::json;
using Settings = std::map<std::string, std::string>;

// Sets an environment variable for one test (each test runs in a process of
// its own under ctest; set before the orchestrator's threads start).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class TlsCampaignTest : public ::testing::Test {
 protected:
  // No proxy variable from outside (CTest sets no_proxy=*, see
  // tests/CMakeLists.txt); each test sets its own. Empty counts as unset.
  ScopedEnv no_proxy_lower_{"no_proxy", ""};
  ScopedEnv no_proxy_upper_{"NO_PROXY", ""};
  ScopedEnv https_proxy_lower_{"https_proxy", ""};
  ScopedEnv https_proxy_upper_{"HTTPS_PROXY", ""};
  ScopedEnv all_proxy_lower_{"all_proxy", ""};
  ScopedEnv all_proxy_upper_{"ALL_PROXY", ""};

  // A sandbox over HTTPS with `tls` as its certificate.
  static std::unique_ptr<TestSandbox> https_sandbox(const http::ServerTls& tls) {
    sandbox::SandboxOptions options;
    options.tls = tls;
    return std::make_unique<TestSandbox>(options);
  }

  // An orchestrator whose services all live at `url`, each with `settings`.
  void start_app(const std::string& url, const Settings& settings) {
    app_.reset();
    const std::filesystem::path dir = dir_.path / ("app" + std::to_string(++apps_));
    std::filesystem::create_directories(dir);
    api::AppConfig config = test_config(dir);
    config.sandbox = false;
    config.adapters = adapters::AdapterConfig::pointing_at(url);
    for (auto& [name, endpoint] : config.adapters.services)
      for (const auto& [key, value] : settings) endpoint.settings[key] = value;
    app_ = std::make_unique<api::OrchestratorApp>(config);
    ASSERT_EQ(app_->start(), "");
    client_ = std::make_unique<ApiClient>(app_->base_url());
  }

  std::string start_campaign() {
    HttpReply r = client_->post("/v1/campaigns", sample_campaign("Over TLS"));
    EXPECT_EQ(r.status, 201) << r.raw;
    return r.body.value("workflow_id", "");
  }

  void run_to_completion() {
    const std::string id = start_campaign();
    client_->wait_for_status(id, "awaiting_approval");
    HttpReply approved = client_->post("/v1/workflows/" + id + "/signals/approve",
                                       {{"reviewer", "alice"}, {"comment", "ok"}});
    ASSERT_EQ(approved.status, 202) << approved.raw;
    const json state = client_->wait_for_status(id, "completed");
    EXPECT_EQ(state.value("status", ""), "completed") << state.dump();
  }

  // Starts a campaign that must fail in research; returns the step errors.
  std::vector<std::string> failed_step_errors() {
    const std::string id = start_campaign();
    const json state = client_->wait_for_status(id, "failed");
    std::vector<std::string> errors;
    for (const json& phase : state["phases"])
      for (const json& step : phase["steps"])
        if (step.contains("last_error")) errors.push_back(step["last_error"].get<std::string>());
    return errors;
  }

  // The notion breaker's failures, from GET /v1/adapters.
  json adapter(const std::string& service) {
    const HttpReply r = client_->get("/v1/adapters");
    for (const json& a : r.body["data"])
      if (a.value("service", "") == service) return a;
    ADD_FAILURE() << "no adapter " << service << ": " << r.raw;
    return json::object();
  }

  void expect_refused(const http::ServerTls& certificate, const Settings& settings,
                      const std::string& classified) {
    auto sandbox = https_sandbox(certificate);
    start_app(sandbox->base_url(), settings);
    const std::vector<std::string> errors = failed_step_errors();
    ASSERT_FALSE(errors.empty());
    for (const std::string& e : errors) EXPECT_NE(e.find(classified), std::string::npos) << e;
    // Research's three services were called once each: no retry.
    EXPECT_EQ(sandbox->sandbox().ledger_summary()["side_effects"], 0);
    const json notion = adapter("notion");
    EXPECT_GE(notion["breaker"].value("failures_total", 0), 1) << notion.dump();
    EXPECT_NE(notion.value("last_error", "").find(classified), std::string::npos) << notion.dump();
  }

  TempDir dir_;
  TestCertificates certs_{dir_.path};
  std::unique_ptr<api::OrchestratorApp> app_;
  std::unique_ptr<ApiClient> client_;
  int apps_ = 0;
};

TEST_F(TlsCampaignTest, WholeCampaignOverVerifiedTls) {
  auto sandbox = https_sandbox(certs_.server);
  ASSERT_EQ(sandbox->base_url().rfind("https://127.0.0.1:", 0), 0u);
  start_app(sandbox->base_url(), {{"ca_file", certs_.ca_file}});
  run_to_completion();
  const json ledger = sandbox->sandbox().ledger_summary();
  EXPECT_EQ(ledger["side_effects"], 15) << ledger.dump();
  EXPECT_EQ(ledger["replays"], 0);
}

TEST_F(TlsCampaignTest, UnknownCaFailsTheStepUntilCaFileTrustsIt) {
  // The system's store does not know the sandbox's CA.
  expect_refused(certs_.unknown_ca, {}, "certificate_verify_failed: ");
  // ca_file names it: the same server is trusted.
  auto sandbox = https_sandbox(certs_.unknown_ca);
  start_app(sandbox->base_url(), {{"ca_file", certs_.unknown_ca_file}});
  run_to_completion();
  EXPECT_EQ(sandbox->sandbox().ledger_summary()["side_effects"], 15);
}

TEST_F(TlsCampaignTest, ExpiredCertificateFailsTheStep) {
  expect_refused(certs_.expired, {{"ca_file", certs_.ca_file}},
                 "certificate_verify_failed: certificate has expired");
}

TEST_F(TlsCampaignTest, CertificateForAnotherHostFailsTheStep) {
  expect_refused(certs_.other_host, {{"ca_file", certs_.ca_file}}, "hostname_mismatch");
}

TEST_F(TlsCampaignTest, CampaignThroughConnectProxyFromTheEnvironment) {
  auto sandbox = https_sandbox(certs_.server);
  ConnectProxy proxy;
  ScopedEnv https_proxy("HTTPS_PROXY", proxy.url());
  start_app(sandbox->base_url(), {{"ca_file", certs_.ca_file}});
  run_to_completion();
  EXPECT_EQ(sandbox->sandbox().ledger_summary()["side_effects"], 15);
  EXPECT_GE(proxy.tunnels(), 1);
  for (const std::string& target : proxy.targets())
    EXPECT_EQ(target, sandbox->base_url().substr(8));  // 127.0.0.1:<port>
}

TEST_F(TlsCampaignTest, NoProxyGoesAroundTheProxy) {
  auto sandbox = https_sandbox(certs_.server);
  ConnectProxy proxy;
  ScopedEnv https_proxy("https_proxy", proxy.url());
  ScopedEnv no_proxy("NO_PROXY", "localhost, 127.0.0.0/8");
  start_app(sandbox->base_url(), {{"ca_file", certs_.ca_file}});
  run_to_completion();
  EXPECT_EQ(sandbox->sandbox().ledger_summary()["side_effects"], 15);
  EXPECT_EQ(proxy.tunnels(), 0);
}

TEST_F(TlsCampaignTest, ServiceProxySettingWithCredentials) {
  auto sandbox = https_sandbox(certs_.server);
  ConnectProxy proxy("campaigns:s3cret");
  start_app(sandbox->base_url(), {{"ca_file", certs_.ca_file},
                                  {"proxy", "http://campaigns:s3cret@" + proxy.url().substr(7)}});
  run_to_completion();
  EXPECT_GE(proxy.tunnels(), 1);
  EXPECT_EQ(proxy.refused(), 0);
}

}  // namespace
}  // namespace orch::testing
