// Every adapter against a real sandbox over HttpClient: normalised values,
// the headers the services receive, the ledger, error classification and
// secret hygiene.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/services/adapter_config.h"
#include "adapters/services/campaign_adapters.h"
#include "adapters/http/http_client.h"
#include "adapters/services/service_adapter.h"
#include "phases/ports.h"
#include "tests/support/sandbox_fixture.h"

namespace orch {
namespace {

using adapters::AdapterConfig;
using adapters::CampaignAdapters;
using nlohmann::json;
using phases::CallContext;
using phases::ServiceCallback;
using phases::ServiceOutcome;
using phases::ServiceResult;
using testing::TestClient;
using testing::TestSandbox;

constexpr const char* kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

std::string secret_for(const std::string& service) { return "s3cr3t-" + service + "-9f8e7d"; }

AdapterConfig make_config(const std::string& base_url, int max_retries) {
  AdapterConfig c = AdapterConfig::pointing_at(base_url);
  for (auto& [name, e] : c.services) {
    e.token = secret_for(name);
    e.settings["max_retries"] = std::to_string(max_retries);
    e.settings["initial_backoff_ms"] = "5";
  }
  return c;
}

class AdaptersContractTest : public ::testing::Test {
 protected:
  AdaptersContractTest()
      : sb({}, /*record_requests=*/true),
        config(make_config(sb.base_url(), 2)),
        fast_config(make_config(sb.base_url(), 0)),
        adapters(client.client(), config),
        fast(client.client(), fast_config),
        svc(adapters.services()),
        fast_svc(fast.services()) {}

  void TearDown() override {
    for (const auto& e : errors) {
      for (const auto& [name, endpoint] : config.services) {
        EXPECT_EQ(e.find(endpoint.token), std::string::npos) << "token leaked in: " << e;
      }
      EXPECT_EQ(e.find("s3cr3t"), std::string::npos) << e;
    }
  }

  CallContext ctx(const std::string& step, const std::string& workflow = "contract") {
    CallContext c;
    c.idempotency_key = workflow + ":" + step;
    c.timeout = std::chrono::seconds(5);
    c.traceparent = kTraceparent;
    return c;
  }
  CallContext comp(const std::string& step, const std::string& workflow = "contract") {
    CallContext c = ctx(step, workflow);
    c.idempotency_key += ":compensate";
    return c;
  }

  ServiceResult run(const std::function<void(ServiceCallback)>& start) {
    ServiceResult r = TestClient::await(start);
    if (!r.error.empty()) errors.push_back(r.error);
    return r;
  }

  // The recorded request for `path_prefix` carried the idempotency key, the
  // traceparent and `header` starting with `value_prefix`.
  void expect_sent(const std::string& path_prefix, const std::string& key,
                   const std::string& header, const std::string& value_prefix) {
    auto req = sb.last_request(path_prefix);
    ASSERT_TRUE(req.has_value()) << path_prefix;
    EXPECT_EQ(req->header("Idempotency-Key").value_or(""), key) << path_prefix;
    EXPECT_EQ(req->header("traceparent").value_or(""), kTraceparent) << path_prefix;
    if (!header.empty()) {
      std::string v(req->header(header).value_or(""));
      EXPECT_EQ(v.rfind(value_prefix, 0), 0u) << path_prefix << " " << header << ": " << v;
    }
  }

  TestSandbox sb;
  TestClient client;
  AdapterConfig config;
  AdapterConfig fast_config;
  CampaignAdapters adapters;
  CampaignAdapters fast;  // max_retries 0
  phases::CampaignServices svc;
  phases::CampaignServices fast_svc;
  std::vector<std::string> errors;
};

void expect_ok(const ServiceResult& r) {
  EXPECT_EQ(r.outcome, ServiceOutcome::ok) << r.error;
  EXPECT_TRUE(r.error.empty()) << r.error;
}

TEST_F(AdaptersContractTest, ServicesAreAllSet) {
  EXPECT_NE(svc.knowledge, nullptr);
  EXPECT_NE(svc.scraper, nullptr);
  EXPECT_NE(svc.memory, nullptr);
  EXPECT_NE(svc.language_model, nullptr);
  EXPECT_NE(svc.design, nullptr);
  EXPECT_NE(svc.code_host, nullptr);
  EXPECT_NE(svc.pages, nullptr);
  EXPECT_NE(svc.code_host, svc.pages);
  EXPECT_NE(svc.chat, nullptr);
  EXPECT_NE(svc.email, nullptr);
  EXPECT_NE(svc.social, nullptr);
  EXPECT_NE(svc.dashboards, nullptr);
  EXPECT_NE(svc.messaging, nullptr);
}

TEST_F(AdaptersContractTest, KnowledgeBaseSearch) {
  auto r = run([&](ServiceCallback cb) { svc.knowledge->search(ctx("research.notion"), "Q4 launch", cb); });
  expect_ok(r);
  EXPECT_EQ(r.http_status, 200);
  ASSERT_TRUE(r.value["results"].is_array());
  ASSERT_FALSE(r.value["results"].empty());
  for (const auto& item : r.value["results"]) {
    EXPECT_FALSE(item["id"].get<std::string>().empty());
    EXPECT_NE(item["title"].get<std::string>().find("Q4 launch"), std::string::npos);
    EXPECT_EQ(item["url"].get<std::string>().rfind("https://www.notion.so/", 0), 0u);
  }
  expect_sent("/v1/search", "contract:research.notion", "Authorization",
              "Bearer " + secret_for("notion"));
  expect_sent("/v1/search", "contract:research.notion", "Notion-Version", "2022-06-28");
}

TEST_F(AdaptersContractTest, WebScraperScrape) {
  auto r = run([&](ServiceCallback cb) {
    svc.scraper->scrape(ctx("research.scrape[0]"), "https://competitor.example/pricing", cb);
  });
  expect_ok(r);
  EXPECT_EQ(r.value["url"], "https://competitor.example/pricing");
  EXPECT_FALSE(r.value["title"].get<std::string>().empty());
  EXPECT_FALSE(r.value["text"].get<std::string>().empty());
  expect_sent("/v1/tools/scrape", "contract:research.scrape[0]", "", "");

  auto bad = run([&](ServiceCallback cb) { svc.scraper->scrape(ctx("research.scrape[1]"), "ftp://x", cb); });
  EXPECT_EQ(bad.outcome, ServiceOutcome::permanent);
  EXPECT_EQ(bad.http_status, 422);
}

TEST_F(AdaptersContractTest, MemoryStoreLifecycle) {
  auto rem = run([&](ServiceCallback cb) {
    svc.memory->remember(ctx("content.remember"), "drafts/contract/v1", json{{"headline", "Hi"}}, cb);
  });
  expect_ok(rem);
  EXPECT_EQ(rem.value["key"], "drafts/contract/v1");

  auto rec = run([&](ServiceCallback cb) { svc.memory->recall(ctx("content.recall"), "drafts/contract", cb); });
  expect_ok(rec);
  ASSERT_EQ(rec.value["memories"].size(), 1u);
  EXPECT_EQ(rec.value["memories"][0]["key"], "drafts/contract/v1");
  EXPECT_EQ(rec.value["memories"][0]["value"]["headline"], "Hi");

  auto fgt = run([&](ServiceCallback cb) { svc.memory->forget(comp("content.remember"), "drafts/contract/v1", cb); });
  expect_ok(fgt);
  EXPECT_EQ(fgt.value["key"], "drafts/contract/v1");
  EXPECT_FALSE(fgt.value.contains("already_absent"));
  expect_sent("/v1/memories/", "contract:content.remember:compensate", "", "");
  EXPECT_EQ(sb.last_request("/v1/memories/")->path(), "/v1/memories/drafts%2Fcontract%2Fv1");

  auto again = run([&](ServiceCallback cb) { svc.memory->forget(comp("content.other"), "drafts/contract/v1", cb); });
  expect_ok(again);
  EXPECT_EQ(again.value["already_absent"], true);
  EXPECT_EQ(again.value["key"], "drafts/contract/v1");
  EXPECT_EQ(again.http_status, 404);
}

TEST_F(AdaptersContractTest, LanguageModelComplete) {
  auto r = run([&](ServiceCallback cb) {
    svc.language_model->complete(ctx("content.generate"), "You write marketing copy.",
                                 "Campaign: Q4 Product Launch\nTone: professional", cb);
  });
  expect_ok(r);
  EXPECT_EQ(r.value["model"], "campaign-writer");
  EXPECT_GT(r.value["tokens_used"].get<int>(), 0);
  json content = json::parse(r.value["text"].get<std::string>());
  EXPECT_NE(content["headline"].get<std::string>().find("Q4 Product Launch"), std::string::npos);
  auto req = sb.last_request("/v1/chat/completions");
  ASSERT_TRUE(req);
  json body = json::parse(req->body);
  EXPECT_EQ(body["model"], "campaign-writer");
  EXPECT_EQ(body["messages"][0]["role"], "system");
  EXPECT_EQ(body["messages"][1]["role"], "user");
  expect_sent("/v1/chat/completions", "contract:content.generate", "Authorization",
              "Bearer " + secret_for("slm"));
}

TEST_F(AdaptersContractTest, DesignRendererRenderAndRemove) {
  auto r = run([&](ServiceCallback cb) {
    svc.design->render(ctx("design.render[email]"), "email_banner", json{{"headline", "Hi"}}, cb);
  });
  expect_ok(r);
  EXPECT_EQ(r.value["format"], "png");
  std::string asset = r.value["asset_id"];
  EXPECT_FALSE(asset.empty());
  EXPECT_EQ(r.value["url"], "https://figma-sandbox.local/images/" + asset + ".png");
  auto req = sb.last_request("/v1/images/");
  ASSERT_TRUE(req);
  EXPECT_EQ(req->path(), "/v1/images/CAMPAIGN_TEMPLATES");
  EXPECT_EQ(req->query_param("ids").value_or(""), "email_banner");
  EXPECT_EQ(req->query_param("format").value_or(""), "png");
  expect_sent("/v1/images/", "contract:design.render[email]", "X-Figma-Token", secret_for("figma"));

  auto rm = run([&](ServiceCallback cb) { svc.design->remove(comp("design.render[email]"), asset, cb); });
  expect_ok(rm);
  EXPECT_TRUE(rm.value.is_object());
  EXPECT_FALSE(rm.value.contains("already_absent"));
  auto rm2 = run([&](ServiceCallback cb) { svc.design->remove(comp("design.other"), asset, cb); });
  expect_ok(rm2);
  EXPECT_EQ(rm2.value["already_absent"], true);
}

TEST_F(AdaptersContractTest, CodeHostPullRequestAndFiles) {
  auto pr = run([&](ServiceCallback cb) {
    svc.code_host->open_pull_request(ctx("review.pr"), "Campaign: Q4", "Please review", "campaign/q4", cb);
  });
  expect_ok(pr);
  EXPECT_EQ(pr.value["number"], 1);
  EXPECT_EQ(pr.value["url"], "https://github.com/acme/campaigns/pull/1");
  auto prq = sb.last_request("/repos/acme/campaigns/pulls");
  ASSERT_TRUE(prq);
  EXPECT_EQ(json::parse(prq->body)["base"], "main");
  EXPECT_EQ(json::parse(prq->body)["head"], "campaign/q4");
  expect_sent("/repos/acme/campaigns/pulls", "contract:review.pr", "Authorization",
              "Bearer " + secret_for("github"));
  expect_sent("/repos/acme/campaigns/pulls", "contract:review.pr", "Accept",
              "application/vnd.github+json");

  auto pub = run([&](ServiceCallback cb) {
    svc.pages->publish_file(ctx("distribute.blog"), "_posts/2024-10-07-q4 launch.md", "# Q4\nHello",
                            "Publish Q4", cb);
  });
  expect_ok(pub);
  EXPECT_EQ(pub.value["path"], "_posts/2024-10-07-q4 launch.md");
  EXPECT_EQ(pub.value["sha"].get<std::string>().size(), 40u);
  EXPECT_EQ(pub.value["commit_sha"].get<std::string>().size(), 40u);
  EXPECT_NE(pub.value["url"].get<std::string>().find("acme/acme.github.io"), std::string::npos);
  auto putq = sb.last_request("/repos/acme/acme.github.io/contents/");
  ASSERT_TRUE(putq);
  EXPECT_EQ(putq->method, "PUT");
  EXPECT_EQ(putq->path(), "/repos/acme/acme.github.io/contents/_posts/2024-10-07-q4%20launch.md");
  EXPECT_EQ(json::parse(putq->body)["content"], adapters::base64_encode("# Q4\nHello"));

  std::string sha = pub.value["sha"];
  auto wrong = run([&](ServiceCallback cb) {
    svc.pages->delete_file(comp("distribute.blog.x"), "_posts/2024-10-07-q4 launch.md", "deadbeef",
                           "Rollback", cb);
  });
  EXPECT_EQ(wrong.outcome, ServiceOutcome::permanent);
  EXPECT_EQ(wrong.http_status, 409);
  EXPECT_NE(wrong.error.find("github_pages DELETE /repos/acme/acme.github.io/contents/"), std::string::npos)
      << wrong.error;
  EXPECT_NE(wrong.error.find("409"), std::string::npos);

  auto del = run([&](ServiceCallback cb) {
    svc.pages->delete_file(comp("distribute.blog"), "_posts/2024-10-07-q4 launch.md", sha, "Rollback", cb);
  });
  expect_ok(del);
  EXPECT_EQ(del.value["commit_sha"].get<std::string>().size(), 40u);
  auto del2 = run([&](ServiceCallback cb) {
    svc.pages->delete_file(comp("distribute.blog.y"), "_posts/2024-10-07-q4 launch.md", sha, "Rollback", cb);
  });
  expect_ok(del2);
  EXPECT_EQ(del2.value["already_absent"], true);
}

TEST_F(AdaptersContractTest, ChatNotifierPostAndInBandError) {
  auto r = run([&](ServiceCallback cb) { svc.chat->post_message(ctx("review.notify"), "#marketing", "PR ready", cb); });
  expect_ok(r);
  EXPECT_FALSE(r.value["ts"].get<std::string>().empty());
  EXPECT_EQ(r.value["channel"].get<std::string>().front(), 'C');
  expect_sent("/api/chat.postMessage", "contract:review.notify", "Authorization",
              "Bearer " + secret_for("slack"));

  // Same key: the replayed answer carries the same ts.
  auto again = run([&](ServiceCallback cb) { svc.chat->post_message(ctx("review.notify"), "#marketing", "PR ready", cb); });
  expect_ok(again);
  EXPECT_EQ(again.value["ts"], r.value["ts"]);

  auto bad = run([&](ServiceCallback cb) { svc.chat->post_message(ctx("review.notify2"), "", "x", cb); });
  EXPECT_EQ(bad.outcome, ServiceOutcome::permanent);
  EXPECT_EQ(bad.http_status, 200);
  EXPECT_NE(bad.error.find("slack: channel_not_found"), std::string::npos) << bad.error;
}

// Slack's in-band error (HTTP 200, ok:false) as a sandbox fault: the step
// fails with Slack's code, permanently unless Slack says to come back.
TEST_F(AdaptersContractTest, SlackOkFalseWithStatus200FailsWithSlacksCode) {
  TestClient control;
  control.call(
      sb.base_url(), "POST", "/sandbox/faults",
      R"({"path_prefix":"/api/chat.postMessage","status":200,"error":"is_archived","count":1})");
  auto r =
      run([&](ServiceCallback cb) { svc.chat->post_message(ctx("review.notify"), "#c", "t", cb); });
  EXPECT_EQ(r.outcome, ServiceOutcome::permanent);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_NE(r.error.find("slack POST /api/chat.postMessage failed: HTTP 200: slack: is_archived"),
            std::string::npos)
      << r.error;
  EXPECT_EQ(sb.sandbox().ledger_summary()["faults_injected"], 1);  // never retried
  EXPECT_EQ(sb.sandbox().ledger_summary()["side_effects"], 0);

  control.call(
      sb.base_url(), "POST", "/sandbox/faults",
      R"({"path_prefix":"/api/chat.postMessage","status":200,"error":"ratelimited","count":1})");
  auto limited = run([&](ServiceCallback cb) {
    fast_svc.chat->post_message(ctx("review.notify"), "#c", "t", cb);
  });
  EXPECT_EQ(limited.outcome, ServiceOutcome::retryable);
  EXPECT_NE(limited.error.find("slack: ratelimited"), std::string::npos) << limited.error;
}

// Every service's own error body (a sandbox fault with "error") is read by
// its adapter: the step's error names the service and carries its reason.
TEST_F(AdaptersContractTest, EachServicesErrorBodyGivesItsReason) {
  struct Case {
    const char* path_prefix;
    std::string expected;  // after "HTTP 400: "
    std::function<void(ServiceCallback)> start;
  };
  const phases::EmailMessage mail{"s", "<p>h</p>", "b1", {"a@b.c"}};
  const std::vector<Case> cases = {
      {"/v1/search", "notion: validation_error: reason-1",
       [&](ServiceCallback cb) { fast_svc.knowledge->search(ctx("s1"), "q", cb); }},
      {"/v1/tools/scrape", "tool_service: reason-2",
       [&](ServiceCallback cb) { fast_svc.scraper->scrape(ctx("s2"), "https://a.example", cb); }},
      {"/v1/recall", "memory_gateway: reason-3",
       [&](ServiceCallback cb) { fast_svc.memory->recall(ctx("s3"), "q", cb); }},
      {"/v1/chat/completions", "slm: reason-4",
       [&](ServiceCallback cb) { fast_svc.language_model->complete(ctx("s4"), "s", "u", cb); }},
      {"/v1/images/", "figma: reason-5",
       [&](ServiceCallback cb) {
         fast_svc.design->render(ctx("s5"), "email_banner", json::object(), cb);
       }},
      {"/repos/acme/campaigns/", "github: reason-6",
       [&](ServiceCallback cb) {
         fast_svc.code_host->open_pull_request(ctx("s6"), "t", "b", "h", cb);
       }},
      {"/repos/acme/acme.github.io/", "github_pages: reason-7",
       [&](ServiceCallback cb) { fast_svc.pages->publish_file(ctx("s7"), "a.md", "x", "m", cb); }},
      {"/api/chat.postMessage", "slack: reason-8",
       [&](ServiceCallback cb) { fast_svc.chat->post_message(ctx("s8"), "#c", "t", cb); }},
      {"/v3/mail/send", "sendgrid: reason-9",
       [&](ServiceCallback cb) { fast_svc.email->send(ctx("s9"), mail, cb); }},
      {"/1/updates/", "buffer: reason-10",
       [&](ServiceCallback cb) { fast_svc.social->create_update(ctx("s10"), "t", "", cb); }},
      {"/api/dashboards/", "grafana: reason-11",
       [&](ServiceCallback cb) {
         fast_svc.dashboards->create_dashboard(ctx("s11"), "u", "t", {"v"}, cb);
       }},
      {"/2010-04-01/", "twilio: reason-12 (code 21211)",
       [&](ServiceCallback cb) {
         fast_svc.messaging->send(ctx("s12"), "sms", "+15551234567", "b", cb);
       }},
      {"/v1/projects/", "fcm: INVALID_ARGUMENT: reason-13",
       [&](ServiceCallback cb) { fast_svc.messaging->send(ctx("s13"), "push", "news", "b", cb); }},
  };
  TestClient control;
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path_prefix);
    ++n;
    control.call(sb.base_url(), "POST", "/sandbox/faults",
                 json{{"path_prefix", c.path_prefix},
                      {"status", 400},
                      {"count", 1},
                      {"error", "reason-" + std::to_string(n)}}
                     .dump());
    auto r = run(c.start);
    EXPECT_EQ(r.outcome, ServiceOutcome::permanent);
    EXPECT_EQ(r.http_status, 400);
    EXPECT_NE(r.error.find("HTTP 400: " + c.expected), std::string::npos) << r.error;
  }
  EXPECT_EQ(sb.sandbox().ledger_summary()["side_effects"], 0);

  // A 5xx with the service's body stays retryable and keeps Retry-After.
  control.call(
      sb.base_url(), "POST", "/sandbox/faults",
      R"({"path_prefix":"/v3/mail/send","status":503,"retry_after_s":3,"error":"try again later"})");
  auto r = run([&](ServiceCallback cb) { fast_svc.email->send(ctx("s14"), mail, cb); });
  EXPECT_EQ(r.outcome, ServiceOutcome::retryable);
  EXPECT_EQ(r.retry_after, std::chrono::seconds(3));
  EXPECT_NE(r.error.find("sendgrid: try again later"), std::string::npos) << r.error;
}

// The services' own validation errors, without any fault: SendGrid's
// errors[] and GitHub's message with its errors[].
TEST_F(AdaptersContractTest, SendGridAndGitHubValidationErrorsCarryTheirReasons) {
  auto mail = run([&](ServiceCallback cb) {
    svc.email->send(ctx("distribute.email"),
                    phases::EmailMessage{"s", "<p>h</p>", "b1", {"not-an-email"}}, cb);
  });
  EXPECT_EQ(mail.outcome, ServiceOutcome::permanent);
  EXPECT_EQ(mail.http_status, 400);
  EXPECT_NE(
      mail.error.find("sendgrid: Does not contain a valid address. (field personalizations.0.to)"),
      std::string::npos)
      << mail.error;
  EXPECT_EQ(mail.value,
            json({{"errors", json::array({{{"message", "Does not contain a valid address."},
                                           {"field", "personalizations.0.to"}}})}}));

  auto pr = run([&](ServiceCallback cb) {
    svc.code_host->open_pull_request(ctx("review.pr"), "t", "b", "main", cb);
  });
  EXPECT_EQ(pr.outcome, ServiceOutcome::permanent);
  EXPECT_EQ(pr.http_status, 422);
  EXPECT_NE(pr.error.find("github: Validation Failed: No commits between main and main"),
            std::string::npos)
      << pr.error;

  auto first = run([&](ServiceCallback cb) {
    svc.pages->publish_file(ctx("distribute.blog"), "p.md", "x", "m", cb);
  });
  expect_ok(first);
  auto second = run([&](ServiceCallback cb) {
    svc.pages->publish_file(ctx("distribute.blog2"), "p.md", "y", "m", cb);
  });
  EXPECT_EQ(second.outcome, ServiceOutcome::permanent);
  EXPECT_EQ(second.http_status, 422);
  EXPECT_NE(second.error.find("github_pages: Invalid request."), std::string::npos) << second.error;
  EXPECT_NE(second.error.find("\"sha\" wasn't supplied."), std::string::npos) << second.error;
}

TEST_F(AdaptersContractTest, EmailSenderSendAndCancel) {
  phases::EmailMessage m{"Introducing Q4", "<h1>Q4</h1>", "batch-contract-1", {}};
  auto r = run([&](ServiceCallback cb) { svc.email->send(ctx("distribute.email"), m, cb); });
  expect_ok(r);
  EXPECT_EQ(r.http_status, 202);
  EXPECT_FALSE(r.value["message_id"].get<std::string>().empty());
  EXPECT_EQ(r.value["batch_id"], "batch-contract-1");
  auto req = sb.last_request("/v3/mail/send");
  ASSERT_TRUE(req);
  json body = json::parse(req->body);
  EXPECT_EQ(body["from"]["email"], "campaigns@example.com");
  EXPECT_EQ(body["personalizations"][0]["to"][0]["email"], "subscribers@example.com");
  EXPECT_EQ(body["batch_id"], "batch-contract-1");
  EXPECT_TRUE(body["send_at"].is_number_integer());
  expect_sent("/v3/mail/send", "contract:distribute.email", "Authorization",
              "Bearer " + secret_for("sendgrid"));

  auto c = run([&](ServiceCallback cb) { svc.email->cancel(comp("distribute.email"), "batch-contract-1", cb); });
  expect_ok(c);
  EXPECT_EQ(c.value["batch_id"], "batch-contract-1");
  EXPECT_FALSE(c.value.contains("already_absent"));
  auto c2 = run([&](ServiceCallback cb) { svc.email->cancel(comp("distribute.email.x"), "batch-unknown", cb); });
  expect_ok(c2);
  EXPECT_EQ(c2.value["already_absent"], true);
}

TEST_F(AdaptersContractTest, SocialSchedulerCreateAndDestroy) {
  auto r = run([&](ServiceCallback cb) {
    svc.social->create_update(ctx("distribute.social"), "Q4 is live!", "https://img.example/a.png", cb);
  });
  expect_ok(r);
  std::string id = r.value["update_id"];
  EXPECT_FALSE(id.empty());
  auto req = sb.last_request("/1/updates/create.json");
  ASSERT_TRUE(req);
  EXPECT_NE(req->body.find("access_token=" + secret_for("buffer")), std::string::npos);
  EXPECT_NE(req->body.find("profile_ids%5B%5D=profile-1"), std::string::npos);
  expect_sent("/1/updates/create.json", "contract:distribute.social", "Content-Type",
              "application/x-www-form-urlencoded");

  auto d = run([&](ServiceCallback cb) { svc.social->destroy_update(comp("distribute.social"), id, cb); });
  expect_ok(d);
  EXPECT_EQ(d.value["update_id"], id);
  auto d2 = run([&](ServiceCallback cb) { svc.social->destroy_update(comp("distribute.social.x"), id, cb); });
  expect_ok(d2);
  EXPECT_EQ(d2.value["already_absent"], true);
}

TEST_F(AdaptersContractTest, DashboardHostCreateAndDelete) {
  auto r = run([&](ServiceCallback cb) {
    svc.dashboards->create_dashboard(ctx("analytics.dashboard"), "campaign-q4", "Campaign Q4",
                                     {"views", "clicks", "conversions"}, cb);
  });
  expect_ok(r);
  EXPECT_EQ(r.value["uid"], "campaign-q4");
  EXPECT_EQ(r.value["url"], sb.base_url() + "/d/campaign-q4/campaign-q4");
  auto req = sb.last_request("/api/dashboards/db");
  ASSERT_TRUE(req);
  EXPECT_EQ(json::parse(req->body)["dashboard"]["panels"].size(), 3u);
  expect_sent("/api/dashboards/db", "contract:analytics.dashboard", "Authorization",
              "Bearer " + secret_for("grafana"));

  auto d = run([&](ServiceCallback cb) { svc.dashboards->delete_dashboard(comp("analytics.dashboard"), "campaign-q4", cb); });
  expect_ok(d);
  EXPECT_EQ(d.value["uid"], "campaign-q4");
  auto d2 = run([&](ServiceCallback cb) { svc.dashboards->delete_dashboard(comp("analytics.x"), "campaign-q4", cb); });
  expect_ok(d2);
  EXPECT_EQ(d2.value["already_absent"], true);
}

TEST_F(AdaptersContractTest, MessageGatewayAllChannels) {
  const std::string expected_basic =
      "Basic " + adapters::base64_encode("AC00000000000000000000000000000000:" + secret_for("messaging"));
  for (const std::string channel : {"sms", "whatsapp", "push", "in_app"}) {
    SCOPED_TRACE(channel);
    std::string audience = channel == "sms" || channel == "whatsapp" ? "+15551234567" : "campaign-q4";
    auto r = run([&](ServiceCallback cb) {
      svc.messaging->send(ctx("distribute." + channel), channel, audience, "Q4 is live", cb);
    });
    expect_ok(r);
    EXPECT_EQ(r.value["channel"], channel);
    std::string id = r.value["message_id"];
    ASSERT_FALSE(id.empty());
    if (channel == "sms" || channel == "whatsapp") {
      EXPECT_EQ(id.rfind("SM", 0), 0u);
      expect_sent("/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json",
                  "contract:distribute." + channel, "Authorization", expected_basic);
      auto req = sb.last_request("/2010-04-01/");
      if (channel == "whatsapp") {
        EXPECT_NE(req->body.find("To=whatsapp%3A%2B15551234567"), std::string::npos) << req->body;
      }
    } else {
      expect_sent("/v1/projects/campaign-app/messages:send", "contract:distribute." + channel,
                  "Authorization", "Bearer " + secret_for("messaging"));
      json body = json::parse(sb.last_request("/v1/projects/")->body);
      EXPECT_EQ(body["message"]["topic"], "campaign-q4");
      EXPECT_EQ(body["message"]["notification"]["body"], "Q4 is live");
    }
    auto c = run([&](ServiceCallback cb) { svc.messaging->cancel(comp("distribute." + channel), channel, id, cb); });
    expect_ok(c);
    EXPECT_EQ(c.value["message_id"], id);
    EXPECT_FALSE(c.value.contains("already_absent"));
    auto c2 = run([&](ServiceCallback cb) {
      svc.messaging->cancel(comp("distribute.x." + channel), channel, "missing-id", cb);
    });
    expect_ok(c2);
    EXPECT_EQ(c2.value["already_absent"], true);
  }
  auto bad = run([&](ServiceCallback cb) { svc.messaging->send(ctx("x"), "pigeon", "a", "b", cb); });
  EXPECT_EQ(bad.outcome, ServiceOutcome::permanent);
}

// A message that asks for delivery receipts carries Twilio's StatusCallback;
// one that does not carries none; one call with transport_retries 0 is one
// request however the service answers.
TEST_F(AdaptersContractTest, TwilioGetsTheStatusCallbackAndOneRequestACall) {
  phases::CallContext c = ctx("cust+1", "b-2");
  c.status_callback = "https://orch.example.com/v1/webhooks/twilio/status?broadcast_id=b-2&customer_id=cust%2B1";
  expect_ok(run([&](ServiceCallback cb) { svc.messaging->send_to(c, "sms", "+254712345001", "Hi", cb); }));
  EXPECT_NE(sb.last_request("/2010-04-01/")->body.find(
                "StatusCallback=https%3A%2F%2Forch.example.com%2Fv1%2Fwebhooks%2Ftwilio%2Fstatus%3F"
                "broadcast_id%3Db-2%26customer_id%3Dcust%252B1"),
            std::string::npos)
      << sb.last_request("/2010-04-01/")->body;
  expect_ok(run([&](ServiceCallback cb) {
    svc.messaging->send_to(ctx("cust-2", "b-2"), "sms", "+254712345002", "Hi", cb);
  }));
  EXPECT_EQ(sb.last_request("/2010-04-01/")->body.find("StatusCallback"), std::string::npos);
  TestClient control;
  ASSERT_EQ(control.call(sb.base_url(), "POST", "/sandbox/faults",
                         R"({"path_prefix":"/2010-04-01/","status":503})").response.status,
            201);
  phases::CallContext once = ctx("cust-3", "b-2");
  once.transport_retries = 0;
  auto failed = run([&](ServiceCallback cb) { svc.messaging->send_to(once, "sms", "+254712345003", "Hi", cb); });
  EXPECT_EQ(failed.outcome, ServiceOutcome::retryable);
  EXPECT_EQ(sb.sandbox().attempts_for("b-2:cust-3")["attempts"], 1);
}

// One message to one user: Twilio's To and FCM's token are the user id, the
// ledger names the recipient, and Twilio's 21610 (an unsubscribed recipient)
// says the recipient opted out.
TEST_F(AdaptersContractTest, MessageGatewaySendsToOneRecipient) {
  for (const std::string channel : {"sms", "whatsapp", "push", "in_app"}) {
    SCOPED_TRACE(channel);
    auto r = run([&](ServiceCallback cb) {
      svc.messaging->send_to(ctx("users." + channel + "[user_7]"), channel, "user_7", "Hi", cb);
    });
    expect_ok(r);
    EXPECT_EQ(r.value["recipient"], "user_7");
    EXPECT_EQ(r.value["channel"], channel);
    if (channel == "push" || channel == "in_app") {
      json body = json::parse(sb.last_request("/v1/projects/")->body);
      EXPECT_EQ(body["message"]["token"], "user_7");
      EXPECT_FALSE(body["message"].contains("topic"));
    } else {
      const std::string to = channel == "whatsapp" ? "To=whatsapp%3Auser_7" : "To=user_7";
      EXPECT_NE(sb.last_request("/2010-04-01/")->body.find(to), std::string::npos);
    }
  }
  const json ledger = sb.sandbox().ledger_for("contract");
  for (const json& e : ledger["side_effects"]) EXPECT_EQ(e["recipient"], "user_7") << e.dump();

  TestClient control;
  ASSERT_EQ(control
                .call(sb.base_url(), "POST", "/sandbox/opt-outs",
                      R"({"recipient":"user_8","channels":["sms"]})")
                .response.status,
            201);
  auto stop = run([&](ServiceCallback cb) {
    svc.messaging->send_to(ctx("users.sms[user_8]"), "sms", "user_8", "Hi", cb);
  });
  EXPECT_EQ(stop.outcome, ServiceOutcome::permanent);
  EXPECT_EQ(stop.http_status, 400);
  EXPECT_EQ(stop.value, json({{"recipient_opted_out", true}, {"code", 21610}}));
  EXPECT_NE(stop.error.find("unsubscribed recipient (code 21610)"), std::string::npos);
  auto whatsapp = run([&](ServiceCallback cb) {
    svc.messaging->send_to(ctx("users.whatsapp[user_8]"), "whatsapp", "user_8", "Hi", cb);
  });
  expect_ok(whatsapp);  // opted out of SMS only
}

// Every Twilio refusal carries Twilio's code in the value, so a caller can
// name it and tell WhatsApp's 24-hour window (63016) apart; the magic test
// number +15005550004 is an opted-out recipient like any other 21610.
TEST_F(AdaptersContractTest, TwilioRefusalsCarryTheirCodeInTheValue) {
  struct Case {
    const char* channel;
    const char* to;
    int code;
  };
  for (const Case& c : {Case{"sms", "+15005550001", 21211}, Case{"sms", "+15005550002", 21612},
                        Case{"sms", "+15005550003", 21408}, Case{"sms", "+15005550009", 21614},
                        Case{"whatsapp", "+15005550016", 63016}}) {
    SCOPED_TRACE(c.to);
    auto r = run([&](ServiceCallback cb) {
      svc.messaging->send_to(ctx(std::string("b-1:") + c.to), c.channel, c.to, "Hi", cb);
    });
    EXPECT_EQ(r.outcome, ServiceOutcome::permanent);
    EXPECT_EQ(r.http_status, 400);
    EXPECT_EQ(r.value, json({{"code", c.code}}));
    EXPECT_NE(r.error.find("(code " + std::to_string(c.code) + ")"), std::string::npos) << r.error;
  }
  auto blocked = run([&](ServiceCallback cb) {
    svc.messaging->send_to(ctx("b-1:blocked"), "sms", "+15005550004", "Hi", cb);
  });
  EXPECT_EQ(blocked.value, json({{"recipient_opted_out", true}, {"code", 21610}}));
  // The broadcast send too.
  auto broadcast = run([&](ServiceCallback cb) {
    svc.messaging->send(ctx("b-1:all"), "sms", "+15005550001", "Hi", cb);
  });
  EXPECT_EQ(broadcast.value, json({{"code", 21211}}));
  EXPECT_EQ(sb.sandbox().ledger_summary()["side_effects"], 0);

  // A retryable refusal keeps its code too; a body without one gives null.
  TestClient control;
  control.call(sb.base_url(), "POST", "/sandbox/faults",
               R"({"path_prefix":"/2010-04-01/","status":429,"error":"Too Many Requests","count":1})");
  auto limited = run([&](ServiceCallback cb) {
    fast_svc.messaging->send_to(ctx("b-1:limited"), "sms", "+15551234567", "Hi", cb);
  });
  EXPECT_EQ(limited.outcome, ServiceOutcome::retryable);
  EXPECT_EQ(limited.value, json({{"code", 20429}}));
  control.call(sb.base_url(), "POST", "/sandbox/faults",
               R"({"path_prefix":"/2010-04-01/","status":503,"count":1})");
  auto down = run([&](ServiceCallback cb) {
    fast_svc.messaging->send_to(ctx("b-1:down"), "sms", "+15551234567", "Hi", cb);
  });
  EXPECT_EQ(down.outcome, ServiceOutcome::retryable);
  EXPECT_TRUE(down.value.is_null()) << down.value.dump();
}

// The campaign's 15 forward calls (1 competitor URL; email, social, blog)
// land as 15 ledger effects in order, and compensations separately.
TEST_F(AdaptersContractTest, CampaignFlowLedger) {
  const std::string wf = "campaign-q4-1";
  std::vector<ServiceResult> results;
  auto step = [&](const std::function<void(ServiceCallback)>& start) {
    results.push_back(run(start));
    expect_ok(results.back());
  };
  step([&](ServiceCallback cb) { svc.knowledge->search(ctx("research.notion", wf), "Q4", cb); });
  step([&](ServiceCallback cb) { svc.scraper->scrape(ctx("research.scrape[0]", wf), "https://c.example", cb); });
  step([&](ServiceCallback cb) { svc.memory->recall(ctx("research.memory", wf), "research/", cb); });
  step([&](ServiceCallback cb) { svc.memory->recall(ctx("content.brand_voice", wf), "brand/", cb); });
  step([&](ServiceCallback cb) { svc.language_model->complete(ctx("content.generate", wf), "s", "Campaign: Q4", cb); });
  step([&](ServiceCallback cb) { svc.memory->remember(ctx("content.store", wf), "drafts/" + wf, json{{"a", 1}}, cb); });
  std::vector<std::string> assets;
  for (const char* ch : {"email", "social", "blog"}) {
    step([&](ServiceCallback cb) {
      svc.design->render(ctx(std::string("design.render[") + ch + "]", wf), std::string(ch) + "_banner", json::object(), cb);
    });
    assets.push_back(results.back().value["asset_id"]);
  }
  step([&](ServiceCallback cb) { svc.code_host->open_pull_request(ctx("review.pr", wf), "Q4", "b", "q4", cb); });
  step([&](ServiceCallback cb) { svc.chat->post_message(ctx("review.notify", wf), "#mkt", "review", cb); });
  step([&](ServiceCallback cb) {
    svc.email->send(ctx("distribute.email", wf), phases::EmailMessage{"s", "<p>h</p>", "b-" + wf, {}}, cb);
  });
  step([&](ServiceCallback cb) { svc.social->create_update(ctx("distribute.social", wf), "t", "", cb); });
  step([&](ServiceCallback cb) { svc.pages->publish_file(ctx("distribute.blog", wf), "q4.md", "x", "m", cb); });
  step([&](ServiceCallback cb) {
    svc.dashboards->create_dashboard(ctx("analytics.dashboard", wf), wf, "Q4", {"views"}, cb);
  });
  // Roll back two design assets.
  step([&](ServiceCallback cb) { svc.design->remove(comp("design.render[blog]", wf), assets[2], cb); });
  step([&](ServiceCallback cb) { svc.design->remove(comp("design.render[social]", wf), assets[1], cb); });

  json ledger = sb.sandbox().ledger_for(wf);
  ASSERT_EQ(ledger["side_effects"].size(), 15u);
  ASSERT_EQ(ledger["compensations"].size(), 2u);
  const std::vector<std::string> services = {"notion", "tool_service", "memory_gateway", "memory_gateway",
                                             "slm", "memory_gateway", "figma", "figma", "figma", "github",
                                             "slack", "sendgrid", "buffer", "github", "grafana"};
  for (std::size_t i = 0; i < services.size(); ++i) {
    EXPECT_EQ(ledger["side_effects"][i]["service"], services[i]) << i;
  }
  EXPECT_EQ(ledger["side_effects"][1]["step"], "research.scrape[0]");
  EXPECT_EQ(ledger["compensations"][0]["step"], "design.render[blog]");
  EXPECT_EQ(ledger["compensations"][1]["method"], "DELETE");
  EXPECT_EQ(sb.sandbox().ledger_summary()["side_effects"], 15);
}

TEST_F(AdaptersContractTest, Injected503IsRetryableAfterTransportRetries) {
  TestClient control;
  control.call(sb.base_url(), "POST", "/sandbox/faults", R"({"path_prefix":"/v1/search","status":503})");
  auto r = run([&](ServiceCallback cb) { svc.knowledge->search(ctx("research.notion"), "q", cb); });
  EXPECT_EQ(r.outcome, ServiceOutcome::retryable);
  EXPECT_EQ(r.http_status, 503);
  EXPECT_NE(r.error.find("notion POST /v1/search"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("503"), std::string::npos) << r.error;
  // 1 attempt + 2 transport retries, nothing applied.
  EXPECT_EQ(sb.sandbox().ledger_summary()["faults_injected"], 3);
  EXPECT_EQ(sb.sandbox().ledger_summary()["side_effects"], 0);
}

TEST_F(AdaptersContractTest, TransientFaultIsAbsorbedByRetries) {
  TestClient control;
  control.call(sb.base_url(), "POST", "/sandbox/faults",
               R"({"path_prefix":"/v3/mail/send","status":503,"count":1})");
  auto r = run([&](ServiceCallback cb) {
    svc.email->send(ctx("distribute.email"), phases::EmailMessage{"s", "<p>h</p>", "b1", {"a@b.c"}}, cb);
  });
  expect_ok(r);
  EXPECT_EQ(sb.sandbox().ledger_summary()["side_effects"], 1);
}

TEST_F(AdaptersContractTest, Injected400IsPermanent) {
  TestClient control;
  control.call(sb.base_url(), "POST", "/sandbox/faults", R"({"path_prefix":"/v3/mail/send","status":400})");
  auto r = run([&](ServiceCallback cb) {
    svc.email->send(ctx("distribute.email"), phases::EmailMessage{"s", "<p>h</p>", "b1", {}}, cb);
  });
  EXPECT_EQ(r.outcome, ServiceOutcome::permanent);
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(sb.sandbox().ledger_summary()["faults_injected"], 1);  // never retried
  EXPECT_NE(r.error.find("sendgrid POST /v3/mail/send"), std::string::npos) << r.error;
}

TEST_F(AdaptersContractTest, Injected429WithRetryAfterIsRetryableWithDelay) {
  TestClient control;
  control.call(sb.base_url(), "POST", "/sandbox/faults",
               R"({"path_prefix":"/api/chat.postMessage","status":429,"retry_after_s":7})");
  auto r = run([&](ServiceCallback cb) { fast_svc.chat->post_message(ctx("review.notify"), "#c", "t", cb); });
  EXPECT_EQ(r.outcome, ServiceOutcome::retryable);
  EXPECT_EQ(r.http_status, 429);
  EXPECT_EQ(r.retry_after, std::chrono::seconds(7));
}

TEST_F(AdaptersContractTest, ServiceValidationErrorsArePermanent) {
  // Twilio rejects a missing To (empty audience) with 400.
  auto r = run([&](ServiceCallback cb) { svc.messaging->send(ctx("distribute.sms"), "sms", "", "hi", cb); });
  EXPECT_EQ(r.outcome, ServiceOutcome::permanent);
  EXPECT_EQ(r.http_status, 400);
  EXPECT_NE(r.error.find("To"), std::string::npos) << r.error;
}

TEST_F(AdaptersContractTest, DroppedConnectionIsRetryable) {
  TestClient control;
  control.call(sb.base_url(), "POST", "/sandbox/faults",
               R"({"path_prefix":"/api/dashboards","drop_connection":true})");
  auto r = run([&](ServiceCallback cb) {
    fast_svc.dashboards->create_dashboard(ctx("analytics.dashboard"), "u", "t", {"views"}, cb);
  });
  EXPECT_EQ(r.outcome, ServiceOutcome::retryable);
  EXPECT_EQ(r.http_status, 0);
  EXPECT_NE(r.error.find("grafana POST /api/dashboards/db"), std::string::npos) << r.error;
}

TEST_F(AdaptersContractTest, TimeoutIsRetryable) {
  TestClient control;
  control.call(sb.base_url(), "POST", "/sandbox/faults",
               R"({"path_prefix":"/v1/recall","status":0,"latency_ms":400})");
  CallContext c = ctx("research.memory");
  c.timeout = std::chrono::milliseconds(50);
  auto r = run([&](ServiceCallback cb) { fast_svc.memory->recall(c, "x", cb); });
  EXPECT_EQ(r.outcome, ServiceOutcome::retryable);
  EXPECT_EQ(r.http_status, 0);
  EXPECT_NE(r.error.find("timeout"), std::string::npos) << r.error;
}

TEST_F(AdaptersContractTest, ConnectionRefusedIsRetryable) {
  AdapterConfig dead = make_config("http://127.0.0.1:1", 0);
  CampaignAdapters a(client.client(), dead);
  auto r = run([&](ServiceCallback cb) { a.services().chat->post_message(ctx("review.notify"), "#c", "t", cb); });
  EXPECT_EQ(r.outcome, ServiceOutcome::retryable);
  EXPECT_EQ(r.http_status, 0);
}

TEST_F(AdaptersContractTest, MissingTokenIsPermanent) {
  AdapterConfig no_token = make_config(sb.base_url(), 0);
  no_token.services["github"].token.clear();
  CampaignAdapters a(client.client(), no_token);
  auto r = run([&](ServiceCallback cb) { a.services().code_host->open_pull_request(ctx("review.pr"), "t", "b", "h", cb); });
  EXPECT_EQ(r.outcome, ServiceOutcome::permanent);
  EXPECT_EQ(r.http_status, 401);
  EXPECT_FALSE(sb.last_request("/repos/")->header("Authorization").has_value());
}

// A service that echoes credentials in its error body and a transport whose
// error message contains the token: neither may reach the error string.
class EchoingTransport final : public http::HttpTransport {
 public:
  http::CallResult next;
  void send(const std::string&, const http::Request&, const http::CallOptions&, http::CallCallback done) override {
    done(next);
  }
};

TEST(AdapterSecrets, TokensNeverAppearInErrors) {
  EchoingTransport t;
  AdapterConfig cfg = make_config("http://svc.invalid", 0);
  CampaignAdapters a(t, cfg);
  auto s = a.services();
  const std::string token = secret_for("slack");
  t.next.response = http::Response::json(500, json{{"message", "bad credentials " + token}}.dump());
  ServiceResult r = TestClient::await([&](ServiceCallback cb) { s.chat->post_message(CallContext{"w:s", std::chrono::seconds(1), "", -1, ""}, "#c", "t", cb); });
  EXPECT_EQ(r.outcome, ServiceOutcome::retryable);
  EXPECT_NE(r.error.find("bad credentials"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find(token), std::string::npos) << r.error;

  // Twilio's Basic credential is a secret too.
  const std::string basic = adapters::base64_encode("AC00000000000000000000000000000000:" + secret_for("messaging"));
  t.next = http::CallResult{};
  t.next.response = http::Response::json(401, json{{"message", "rejected Basic " + basic}}.dump());
  r = TestClient::await([&](ServiceCallback cb) { s.messaging->send(CallContext{"w:m", std::chrono::seconds(1), "", -1, ""}, "sms", "+1", "b", cb); });
  EXPECT_EQ(r.outcome, ServiceOutcome::permanent);
  EXPECT_EQ(r.error.find(basic), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find(secret_for("messaging")), std::string::npos) << r.error;

  t.next = http::CallResult{};
  t.next.error = http::TransportError::io;
  t.next.error_message = "connection reset while sending " + secret_for("notion");
  r = TestClient::await([&](ServiceCallback cb) { s.knowledge->search(CallContext{"w:n", std::chrono::seconds(1), "", -1, ""}, "q", cb); });
  EXPECT_EQ(r.outcome, ServiceOutcome::retryable);
  EXPECT_EQ(r.error.find(secret_for("notion")), std::string::npos) << r.error;

  // An unusable 2xx body is permanent.
  t.next = http::CallResult{};
  t.next.response = http::Response::json(200, "<html>");
  r = TestClient::await([&](ServiceCallback cb) { s.knowledge->search(CallContext{"w:n", std::chrono::seconds(1), "", -1, ""}, "q", cb); });
  EXPECT_EQ(r.outcome, ServiceOutcome::permanent);
  EXPECT_EQ(r.http_status, 200);
}

// GitHub's rate limits answer 403 (or 429): retryable, after the time GitHub
// names (docs: rate limits for the REST API). Any other 403 is permanent.
TEST(GitHubRateLimit, WaitsAsGitHubAsks) {
  using adapters::GitHubAdapter;
  constexpr std::int64_t now = 1'700'000'000;
  auto answer = [](int status, const std::string& message, http::Headers headers) {
    http::Response r = http::Response::json(
        status,
        json{{"message", message}, {"documentation_url", "https://docs.github.com/rest"}}.dump());
    for (auto& h : headers) r.headers.push_back(std::move(h));
    return r;
  };
  EXPECT_EQ(
      GitHubAdapter::rate_limit_wait(answer(403, "API rate limit exceeded for user ID 1.",
                                            {{"x-ratelimit-remaining", "0"},
                                             {"x-ratelimit-reset", std::to_string(now + 120)}}),
                                     now),
      std::chrono::seconds(120));
  EXPECT_EQ(GitHubAdapter::rate_limit_wait(answer(429, "x",
                                                  {{"x-ratelimit-remaining", "0"},
                                                   {"x-ratelimit-reset", std::to_string(now - 5)}}),
                                           now),
            std::chrono::seconds(0));
  EXPECT_EQ(
      GitHubAdapter::rate_limit_wait(
          answer(403, "You have exceeded a secondary rate limit.", {{"Retry-After", "30"}}), now),
      std::chrono::seconds(30));
  EXPECT_EQ(GitHubAdapter::rate_limit_wait(
                answer(403, "You have exceeded a secondary rate limit.", {}), now),
            std::chrono::seconds(60));
  EXPECT_EQ(GitHubAdapter::rate_limit_wait(answer(403, "Resource not accessible by integration",
                                                  {{"x-ratelimit-remaining", "4999"}}),
                                           now),
            std::nullopt);
  EXPECT_EQ(GitHubAdapter::rate_limit_wait(answer(422, "rate limit", {}), now), std::nullopt);

  // Through the adapter: the outcome and the error.
  EchoingTransport t;
  AdapterConfig cfg = make_config("http://svc.invalid", 0);
  CampaignAdapters a(t, cfg);
  t.next.response =
      answer(403, "You have exceeded a secondary rate limit.", {{"Retry-After", "45"}});
  ServiceResult r = TestClient::await([&](ServiceCallback cb) {
    a.github().open_pull_request(CallContext{"w:review.pr", std::chrono::seconds(1), "", -1, ""}, "t", "b",
                                 "h", cb);
  });
  EXPECT_EQ(r.outcome, ServiceOutcome::retryable);
  EXPECT_EQ(r.retry_after, std::chrono::seconds(45));
  EXPECT_NE(r.error.find("HTTP 403: github: You have exceeded a secondary rate limit."),
            std::string::npos)
      << r.error;
  t.next = http::CallResult{};
  t.next.response = answer(403, "Resource not accessible by integration", {});
  r = TestClient::await([&](ServiceCallback cb) {
    a.github().open_pull_request(CallContext{"w:review.pr", std::chrono::seconds(1), "", -1, ""}, "t", "b",
                                 "h", cb);
  });
  EXPECT_EQ(r.outcome, ServiceOutcome::permanent);
  EXPECT_NE(r.error.find("github: Resource not accessible by integration"), std::string::npos)
      << r.error;
}

TEST(AdapterConfigTest, PointingAtAndFromEnv) {
  AdapterConfig c = AdapterConfig::pointing_at("http://127.0.0.1:9");
  EXPECT_EQ(c.services.size(), 13u);
  EXPECT_EQ(c.endpoint("github").setting("owner"), "acme");
  EXPECT_EQ(c.endpoint("github_pages").setting("repo"), "acme.github.io");
  EXPECT_EQ(c.endpoint("figma").setting("file_key"), "CAMPAIGN_TEMPLATES");
  EXPECT_EQ(c.endpoint("slm").setting("model"), "campaign-writer");
  EXPECT_EQ(c.endpoint("messaging").setting("twilio_account_sid"), "AC00000000000000000000000000000000");

  setenv("SLACK_BOT_TOKEN", "xoxb-env", 1);
  setenv("GITHUB_URL", "http://gh.local:8080", 1);
  setenv("GITHUB_TOKEN", "ghp_env", 1);
  setenv("NOTION_URL", "", 1);
  AdapterConfig e = AdapterConfig::from_env(c);
  unsetenv("SLACK_BOT_TOKEN");
  unsetenv("GITHUB_URL");
  unsetenv("GITHUB_TOKEN");
  unsetenv("NOTION_URL");
  EXPECT_EQ(e.endpoint("slack").token, "xoxb-env");
  EXPECT_EQ(e.endpoint("slack").base_url, "http://127.0.0.1:9");
  EXPECT_EQ(e.endpoint("github").base_url, "http://gh.local:8080");
  EXPECT_EQ(e.endpoint("github_pages").base_url, "http://gh.local:8080");
  EXPECT_EQ(e.endpoint("github_pages").token, "ghp_env");
  EXPECT_EQ(e.endpoint("notion").base_url, "http://127.0.0.1:9");
  EXPECT_EQ(e.endpoint("notion").token, "sandbox-notion-token");

  AdapterConfig bare = AdapterConfig::from_env({});
  EXPECT_EQ(bare.services.size(), 13u);
  EXPECT_EQ(bare.endpoint("sendgrid").setting("from"), "campaigns@example.com");
  EXPECT_EQ(bare.endpoint("buffer").setting("profile_id"), "profile-1");
}

}  // namespace
}  // namespace orch
