// The REST API over HTTPS (tls_cert_file / tls_key_file): a campaign started,
// approved and followed by a client that verifies the test CA; the probes and
// the metrics scrape over HTTPS; plain HTTP refused; the config keys and
// their environment overrides.
#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "adapters/http/blocking_http.h"
#include "adapters/sandbox/sandbox.h"
#include "api/server/config.h"
#include "tests/support/orchestrator_fixture.h"
#include "tests/support/test_ca.h"

namespace orch::testing {
namespace {

using nlohmann::json;

class TlsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api::AppConfig config = test_config(dir_.path);
    config.tls_cert_file = certs_.server.cert_chain_file;
    config.tls_key_file = certs_.server.private_key_file;
    app_ = std::make_unique<api::OrchestratorApp>(config);
    ASSERT_EQ(app_->start(), "");
    client_ = std::make_unique<ApiClient>(app_->base_url(), certs_.ca_file);
  }

  TempDir dir_;
  TestCertificates certs_{dir_.path};
  std::unique_ptr<api::OrchestratorApp> app_;
  std::unique_ptr<ApiClient> client_;
};

TEST_F(TlsApiTest, CampaignStartedApprovedAndQueriedOverHttps) {
  ASSERT_EQ(app_->base_url().rfind("https://127.0.0.1:", 0), 0u);
  HttpReply started = client_->post("/v1/campaigns", sample_campaign("Over HTTPS"));
  ASSERT_EQ(started.status, 201) << started.raw;
  const std::string id = started.body.value("workflow_id", "");
  client_->wait_for_status(id, "awaiting_approval");
  HttpReply approved =
      client_->post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}});
  ASSERT_EQ(approved.status, 202) << approved.raw;
  const json done = client_->wait_for_status(id, "completed");
  EXPECT_EQ(done.value("status", ""), "completed");
  EXPECT_EQ(app_->sandbox()->ledger_summary()["side_effects"], 15);
}

TEST_F(TlsApiTest, ProbesAndMetricsOverHttps) {
  EXPECT_EQ(client_->get("/health").status, 200);
  EXPECT_EQ(client_->get("/ready").status, 200);
  const HttpReply metrics = client_->get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.raw.find("# TYPE"), std::string::npos);
}

TEST_F(TlsApiTest, PlainHttpAndUntrustingClientsAreRefused) {
  http::BlockingHttp plain;
  const std::string port = std::to_string(app_->port());
  const http::CallResult r =
      plain.call("http://127.0.0.1:" + port, "GET", "/health", "", {}, std::chrono::seconds(5));
  EXPECT_FALSE(r.ok()) << "plain HTTP answered " << r.response.status;
  // A client that trusts only the system's CAs: the test CA is unknown.
  const http::CallResult unknown =
      plain.call("https://127.0.0.1:" + port, "GET", "/health", "", {}, std::chrono::seconds(5));
  EXPECT_EQ(unknown.error, http::TransportError::tls);
  EXPECT_EQ(unknown.error_message.rfind("certificate_verify_failed: ", 0), 0u)
      << unknown.error_message;
  // The server still serves the right client afterwards.
  EXPECT_EQ(client_->get("/health").status, 200);
}

TEST(TlsApiConfigTest, ConfigKeysEnvironmentAndBadFiles) {
  TempDir dir;
  const std::string path = (dir.path / "config.json").string();
  std::ofstream(path)
      << R"({"tls_cert_file": "/etc/orch/tls.crt", "tls_key_file": "/etc/orch/tls.key"})";
  api::AppConfig config;
  ASSERT_EQ(api::load_config(path, &config), "");
  EXPECT_EQ(config.tls_cert_file, "/etc/orch/tls.crt");
  EXPECT_EQ(config.tls_key_file, "/etc/orch/tls.key");

  ::setenv("ORCH_TLS_CERT_FILE", "/run/secrets/tls.crt", 1);
  ::setenv("ORCH_TLS_KEY_FILE", "/run/secrets/tls.key", 1);
  api::AppConfig from_env;
  EXPECT_EQ(api::load_config(path, &from_env), "");
  EXPECT_EQ(from_env.tls_cert_file, "/run/secrets/tls.crt");
  EXPECT_EQ(from_env.tls_key_file, "/run/secrets/tls.key");
  ::unsetenv("ORCH_TLS_KEY_FILE");
  api::AppConfig half;
  half.tls_key_file.clear();
  EXPECT_NE(api::load_config("", &half), "");  // a certificate without its key
  ::unsetenv("ORCH_TLS_CERT_FILE");

  // A key that is not the certificate's stops the start.
  TestCertificates certs(dir.path);
  api::AppConfig mismatched = test_config(dir.path);
  mismatched.tls_cert_file = certs.server.cert_chain_file;
  mismatched.tls_key_file = certs.expired.private_key_file;
  api::OrchestratorApp app(mismatched);
  const std::string error = app.start();
  EXPECT_NE(error.find("mismatch"), std::string::npos) << error;
}

}  // namespace
}  // namespace orch::testing
