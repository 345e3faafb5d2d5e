// Bearer tokens and roles: every endpoint without a token (401), with a
// token of a role that may not use it (403) and with one that may; the
// reviewer's identity comes from the token; open paths; refusals counted in
// metrics; tokens stored only as SHA-256.
#include <gtest/gtest.h>

#include "api/server/auth.h"
#include "engine/common/digest.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using nlohmann::json;

TEST(Sha256Test, MatchesTheFipsVectors) {
  EXPECT_EQ(sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1'000'000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Lengths around the padding boundary (55, 56, 63, 64 bytes) differ.
  std::set<std::string> seen;
  for (std::size_t n : {55, 56, 63, 64, 65}) seen.insert(sha256_hex(std::string(n, 'x')));
  EXPECT_EQ(seen.size(), 5u);
}

TEST(AuthConfigTest, RefusesToStartWithoutTokensOrWithBadHashes) {
  api::AuthConfig config;
  EXPECT_NE(api::Authenticator::validate(config).find("no API tokens"), std::string::npos);
  config.tokens.push_back({"t1", "sam", api::Role::admin, "not-a-hash"});
  EXPECT_NE(api::Authenticator::validate(config).find("sha256"), std::string::npos);
  config.tokens[0].sha256 = sha256_hex("secret");
  EXPECT_EQ(api::Authenticator::validate(config), "");
  config.enabled = false;
  config.tokens.clear();
  EXPECT_EQ(api::Authenticator::validate(config), "");

  TempDir dir;
  api::AppConfig app_config = test_config(dir.path);
  app_config.auth.enabled = true;
  api::OrchestratorApp app(app_config);
  EXPECT_NE(app.start().find("no API tokens"), std::string::npos);
}

class AuthTest : public ::testing::Test {
 protected:
  static constexpr const char* kAdmin = "admin-secret-1";
  static constexpr const char* kOperator = "operator-secret-2";
  static constexpr const char* kReviewer = "reviewer-secret-3";
  static constexpr const char* kViewer = "viewer-secret-4";
  static constexpr const char* kOtherReviewer = "reviewer-secret-5";

  void SetUp() override {
    api::AppConfig config = test_config(dir_.path);
    config.auth.enabled = true;
    config.auth.tokens = {
        {"admin-token", "ada", api::Role::admin, sha256_hex(kAdmin)},
        {"ops-token", "olga", api::Role::operator_, sha256_hex(kOperator)},
        {"alice-laptop", "alice", api::Role::reviewer, sha256_hex(kReviewer)},
        {"viewer-token", "vic", api::Role::viewer, sha256_hex(kViewer)},
        {"bob-phone", "bob", api::Role::reviewer, sha256_hex(kOtherReviewer)},
    };
    app_ = std::make_unique<api::OrchestratorApp>(config);
    ASSERT_EQ(app_->start(), "");
    client_ = std::make_unique<ApiClient>(app_->base_url());
  }

  HttpReply call(const std::string& method, const std::string& target, const json& body,
                 const char* token) {
    http::Headers headers;
    if (token) headers.emplace_back("Authorization", std::string("Bearer ") + token);
    return client_->call(method, target, body.is_null() ? "" : body.dump(), headers);
  }

  std::string start_as(const char* token) {
    HttpReply r = call("POST", "/v1/campaigns", sample_campaign(), token);
    EXPECT_EQ(r.status, 201) << r.raw;
    return r.body.value("workflow_id", "");
  }

  json wait_for(const std::string& id, const std::string& status) {
    for (int i = 0; i < 3000; ++i) {
      HttpReply r = call("GET", "/v1/workflows/" + id, json(), kViewer);
      if (r.body.value("status", "") == status) return r.body;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << id << " never reached " << status;
    return json();
  }

  double metric(const std::string& series) {
    const std::string text = client_->get("/metrics").raw;
    auto at = text.find(series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + series.size() + 1));
  }

  TempDir dir_;
  std::unique_ptr<api::OrchestratorApp> app_;
  std::unique_ptr<ApiClient> client_;
};

TEST_F(AuthTest, EveryEndpointWithoutTokenWrongRoleAndRightRole) {
  const std::string id = start_as(kOperator);
  wait_for(id, "awaiting_approval");
  const std::string wf = "/v1/workflows/" + id;
  struct Endpoint {
    std::string method, target;
    json body;
    const char* wrong;  // a token whose role may not
    const char* right;  // a token whose role may
    int ok_status;
  };
  // Ordered so each command finds the workflow in a state that accepts it.
  const std::vector<Endpoint> endpoints = {
      {"GET", "/v1/workflows", json(), nullptr, kViewer, 200},
      {"GET", wf, json(), nullptr, kViewer, 200},
      {"GET", wf + "/progress", json(), nullptr, kReviewer, 200},
      {"GET", wf + "/history", json(), nullptr, kOperator, 200},
      {"GET", wf + "/approvals", json(), nullptr, kAdmin, 200},
      {"GET", "/v1/adapters", json(), nullptr, kViewer, 200},
      {"POST", "/v1/campaigns", sample_campaign("Another"), kReviewer, kOperator, 201},
      {"POST", "/v1/wizards", sample_campaign("Draft"), kViewer, kAdmin, 201},
      {"POST", wf + "/signals/update_content",
       {{"content_id", "email_subject"}, {"new_content", "New"}}, kReviewer, kOperator, 202},
      {"POST", wf + "/updates/update_content",
       {{"content_id", "email_body"}, {"new_content", "Body"}}, kViewer, kOperator, 200},
      {"POST", wf + "/updates/approve", {{"comment", "fine"}}, kOperator, kReviewer, 200},
      {"POST", "/v1/adapters/sendgrid/breaker", {{"state", "closed"}}, kOperator, kAdmin, 200},
  };
  for (const Endpoint& e : endpoints) {
    SCOPED_TRACE(e.method + " " + e.target);
    HttpReply r = call(e.method, e.target, e.body, nullptr);
    EXPECT_EQ(r.status, 401) << r.raw;
    EXPECT_EQ(r.body.value("type", "").find("unauthenticated") != std::string::npos, true) << r.raw;
    EXPECT_EQ(call(e.method, e.target, e.body, "wrong-token").status, 401);
    if (e.wrong) {
      r = call(e.method, e.target, e.body, e.wrong);
      EXPECT_EQ(r.status, 403) << r.raw;
    }
    r = call(e.method, e.target, e.body, e.right);
    EXPECT_EQ(r.status, e.ok_status) << r.raw;
  }
  // The approval came from the token's identity, alice, through alice-laptop.
  json audit = call("GET", wf + "/approvals", json(), kViewer).body["audit"];
  const json& approval = audit.back();
  EXPECT_EQ(approval["action"], "approved");
  EXPECT_EQ(approval["actor"], "alice");
  EXPECT_EQ(approval["role"], "reviewer");
  EXPECT_EQ(approval["token_id"], "alice-laptop");
  EXPECT_EQ(audit[0]["actor"], "olga");  // the submitter, from the operator token
  EXPECT_EQ(audit[0]["token_id"], "ops-token");
  wait_for(id, "completed");

  // Commands on another workflow: reject (reviewer), cancel, pause, resume,
  // retry (operator).
  const std::string other = start_as(kAdmin);
  const std::string ow = "/v1/workflows/" + other;
  EXPECT_EQ(call("POST", ow + "/pause", json::object(), kReviewer).status, 403);
  EXPECT_EQ(call("POST", ow + "/pause", json::object(), nullptr).status, 401);
  EXPECT_EQ(call("POST", ow + "/pause", json::object(), kOperator).status, 202);
  EXPECT_EQ(call("POST", ow + "/resume", json::object(), kViewer).status, 403);
  EXPECT_EQ(call("POST", ow + "/resume", json::object(), kOperator).status, 202);
  EXPECT_EQ(call("POST", ow + "/retry", json::object(), kViewer).status, 403);
  EXPECT_EQ(call("POST", ow + "/retry", json::object(), kOperator).status, 409);  // not paused
  wait_for(other, "awaiting_approval");
  EXPECT_EQ(call("POST", ow + "/signals/approve", json::object(), nullptr).status, 401);
  EXPECT_EQ(call("POST", ow + "/signals/approve", json::object(), kViewer).status, 403);
  EXPECT_EQ(call("POST", ow + "/updates/reject", {{"reason", "no"}}, nullptr).status, 401);
  EXPECT_EQ(call("POST", ow + "/updates/reject", {{"reason", "no"}}, kOperator).status, 403);
  EXPECT_EQ(call("POST", ow + "/signals/reject", {{"reason", "no"}}, kOperator).status, 403);
  EXPECT_EQ(call("POST", ow + "/signals/reject", {{"reason", "no"}}, nullptr).status, 401);
  EXPECT_EQ(call("POST", ow + "/cancel", json::object(), kReviewer).status, 403);
  EXPECT_EQ(call("POST", ow + "/cancel", json::object(), nullptr).status, 401);
  EXPECT_EQ(call("POST", ow + "/signals/reject", {{"reason", "no"}}, kOtherReviewer).status, 202);
  wait_for(other, "failed");
  EXPECT_EQ(call("POST", ow + "/cancel", json::object(), kOperator).status, 409);  // finished

  // A wizard approve needs an operator.
  HttpReply draft = call("POST", "/v1/wizards", sample_campaign("Wizard"), kOperator);
  const std::string wiz = "/v1/wizards/" + draft.body.value("wizard_id", "") + "/approve";
  EXPECT_EQ(call("POST", wiz, json::object(), nullptr).status, 401);
  EXPECT_EQ(call("POST", wiz, json::object(), kReviewer).status, 403);
  EXPECT_EQ(call("POST", wiz, json::object(), kOperator).status, 201);
}

TEST_F(AuthTest, ReviewerIdentityComesFromTheToken) {
  const std::string id = start_as(kOperator);
  wait_for(id, "awaiting_approval");
  const std::string wf = "/v1/workflows/" + id;
  // A reviewer token naming someone else in the body is refused, and nothing changes.
  const std::string history = call("GET", wf + "/history", json(), kViewer).raw;
  HttpReply r = call("POST", wf + "/updates/approve", {{"reviewer", "bob"}}, kReviewer);
  EXPECT_EQ(r.status, 403) << r.raw;
  EXPECT_EQ(r.body["type"].get<std::string>().find("identity-mismatch") != std::string::npos, true);
  r = call("POST", wf + "/signals/approve", {{"reviewer", "bob"}}, kReviewer);
  EXPECT_EQ(r.status, 403) << r.raw;
  EXPECT_EQ(history, call("GET", wf + "/history", json(), kViewer).raw);
  // Naming oneself is fine.
  r = call("POST", wf + "/updates/approve", {{"reviewer", "alice"}, {"comment", "mine"}}, kReviewer);
  ASSERT_EQ(r.status, 200) << r.raw;
  wait_for(id, "completed");
  // A submitter named in the body must be the token's subject too.
  json input = sample_campaign("Impostor");
  input["submitted_by"] = "alice";
  EXPECT_EQ(call("POST", "/v1/campaigns", input, kOperator).status, 403);
}

// One reviewer's Idempotency-Key reused by another identity is refused,
// not taken as a repeat: bob's approval would otherwise be dropped silently
// and the quorum of two never met.
TEST_F(AuthTest, AnIdempotencyKeyIsBoundToTheIdentityThatUsedIt) {
  json input = sample_campaign();
  input["reviewers"] = {"alice", "bob"};
  input["approval_policy"] = {
      {"levels", {{{"name", "marketing"}, {"reviewers", {"alice", "bob"}}, {"quorum", 2}}}}};
  HttpReply started = call("POST", "/v1/campaigns", input, kOperator);
  ASSERT_EQ(started.status, 201) << started.raw;
  const std::string id = started.body.value("workflow_id", "");
  wait_for(id, "awaiting_approval");
  const std::string approve = "/v1/workflows/" + id + "/signals/approve";
  auto approve_as = [&](const char* token, const std::string& key) {
    return client_->call("POST", approve, R"({"comment":"ok"})",
                         {{"Authorization", std::string("Bearer ") + token},
                          {"Content-Type", "application/json"},
                          {"Idempotency-Key", key}});
  };
  EXPECT_EQ(approve_as(kReviewer, "k-1").status, 202);
  HttpReply reused = approve_as(kOtherReviewer, "k-1");
  EXPECT_EQ(reused.status, 409) << reused.raw;
  EXPECT_NE(reused.body.value("type", "").find("idempotency-key-reused"), std::string::npos);
  EXPECT_EQ(approve_as(kReviewer, "k-1").status, 202);  // alice's own repeat
  EXPECT_EQ(approve_as(kOtherReviewer, "k-2").status, 202);
  wait_for(id, "completed");
}

TEST_F(AuthTest, OpenPathsAndRefusalsCountedInMetrics) {
  EXPECT_EQ(client_->get("/health").status, 200);
  EXPECT_EQ(client_->get("/ready").status, 200);
  EXPECT_EQ(client_->get("/metrics").status, 200);
  EXPECT_EQ(metric("http_auth_failures_total{reason=\"missing_token\"}"), 0);
  EXPECT_EQ(call("GET", "/v1/workflows", json(), nullptr).status, 401);
  EXPECT_EQ(call("GET", "/v1/workflows", json(), nullptr).status, 401);
  HttpReply r = client_->call("GET", "/v1/workflows", "", {{"Authorization", "Basic abc"}});
  EXPECT_EQ(r.status, 401);
  bool challenged = false;
  for (const auto& [k, v] : r.headers) challenged |= k == "WWW-Authenticate";
  EXPECT_TRUE(challenged);
  EXPECT_EQ(call("GET", "/v1/workflows", json(), "nope").status, 401);
  EXPECT_EQ(call("POST", "/v1/campaigns", sample_campaign(), kViewer).status, 403);
  EXPECT_EQ(metric("http_auth_failures_total{reason=\"missing_token\"}"), 2);
  EXPECT_EQ(metric("http_auth_failures_total{reason=\"malformed_token\"}"), 1);
  EXPECT_EQ(metric("http_auth_failures_total{reason=\"unknown_token\"}"), 1);
  EXPECT_EQ(metric("http_auth_failures_total{reason=\"forbidden_role\"}"), 1);
  // No token value appears in the exposition or in a problem document.
  const std::string text = client_->get("/metrics").raw;
  EXPECT_EQ(text.find(kViewer), std::string::npos);
  EXPECT_EQ(r.raw.find("abc"), std::string::npos);
}

TEST(AuthOpenPathsTest, MetricsCanRequireAToken) {
  TempDir dir;
  api::AppConfig config = test_config(dir.path);
  config.auth.enabled = true;
  config.auth.open_paths = {"/health"};
  config.auth.tokens = {{"v", "vic", api::Role::viewer, sha256_hex("view")}};
  api::OrchestratorApp app(config);
  ASSERT_EQ(app.start(), "");
  ApiClient client(app.base_url());
  EXPECT_EQ(client.get("/health").status, 200);
  EXPECT_EQ(client.get("/metrics").status, 401);
  EXPECT_EQ(client.call("GET", "/metrics", "", {{"Authorization", "Bearer view"}}).status, 200);
}

}  // namespace
}  // namespace orch::testing
