// The sandbox over real HTTP: idempotent replay, the ledger, fault and
// latency injection, reset, error statuses and concurrency.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/http/http_client.h"
#include "adapters/sandbox/sandbox.h"
#include "tests/support/sandbox_fixture.h"

namespace orch {
namespace {

using nlohmann::json;
using testing::TestClient;
using testing::TestSandbox;
using testing::body_json;

http::Headers keyed(const std::string& key) {
  http::Headers h = {{"Authorization", "Bearer test-token"}};
  if (!key.empty()) h.emplace_back("Idempotency-Key", key);
  return h;
}

class SandboxTest : public ::testing::Test {
 protected:
  http::CallResult post(const std::string& target, const json& body, const std::string& key,
                        http::CallOptions options = TestClient::no_retries()) {
    return client.call(sb.base_url(), "POST", target, body.dump(), keyed(key), options);
  }
  http::CallResult remember(const std::string& key, const std::string& mem_key,
                            http::CallOptions options = TestClient::no_retries()) {
    return post("/v1/remember", {{"key", mem_key}, {"value", {{"v", mem_key}}}}, key, options);
  }
  http::CallResult mail(const std::string& key) {
    json body = {{"personalizations", json::array({{{"to", json::array({{{"email", "a@b.c"}}})}}})},
                 {"from", {{"email", "x@y.z"}}},
                 {"subject", "Hello"},
                 {"content", json::array({{{"type", "text/html"}, {"value", "<p>hi</p>"}}})},
                 {"batch_id", "batch-" + key}};
    return post("/v3/mail/send", body, key);
  }
  // A Twilio send, form-encoded: `to` may carry "whatsapp:" (From follows).
  http::CallResult text(const std::string& to, const std::string& key) {
    const bool whatsapp = to.rfind("whatsapp:", 0) == 0;
    http::Headers h = {{"Authorization", "Basic QUM6dG9r"},
                       {"Content-Type", "application/x-www-form-urlencoded"}};
    if (!key.empty()) h.emplace_back("Idempotency-Key", key);
    return client.call(sb.base_url(), "POST", "/2010-04-01/Accounts/AC1/Messages.json",
                       "To=" + form_escape(to) + "&From=" + (whatsapp ? "whatsapp%3A" : "") +
                           "%2B15005550006&Body=hi",
                       h);
  }
  http::CallResult mail_to(const std::string& email, const std::string& key) {
    json body = {{"personalizations", json::array({{{"to", json::array({{{"email", email}}})}}})},
                 {"from", {{"email", "x@y.z"}}},
                 {"subject", "Hello"},
                 {"content", json::array({{{"type", "text/html"}, {"value", "<p>hi</p>"}}})}};
    return post("/v3/mail/send", body, key);
  }
  http::CallResult push_to(const std::string& token, const std::string& key) {
    return post("/v1/projects/p1/messages:send",
                {{"message", {{"token", token}, {"notification", {{"title", "t"}, {"body", "b"}}}}}},
                key);
  }
  static std::string form_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '+') {
        out += "%2B";
      } else if (c == ':') {
        out += "%3A";
      } else {
        out += c;
      }
    }
    return out;
  }
  json control(const std::string& method, const std::string& target, const json& body = nullptr) {
    auto r = client.call(sb.base_url(), method, target, body.is_null() ? "" : body.dump());
    EXPECT_TRUE(r.ok()) << r.error_message;
    return body_json(r.response);
  }

  TestSandbox sb;
  TestClient client;
};

TEST_F(SandboxTest, HealthAnswers) {
  auto r = client.call(sb.base_url(), "GET", "/health");
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.status, 200);
}

TEST_F(SandboxTest, IdempotentReplayReturnsCachedResponseWithoutSecondEntry) {
  json chat = {{"model", "m"},
               {"messages", json::array({{{"role", "user"}, {"content", "Campaign: Q4 Launch"}}})}};
  auto first = post("/v1/chat/completions", chat, "wf1:content.generate");
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first.response.status, 200);
  auto second = post("/v1/chat/completions", chat, "wf1:content.generate");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second.response.status, 200);
  EXPECT_EQ(second.response.body, first.response.body);
  EXPECT_EQ(second.response.header("Idempotent-Replayed").value_or(""), "true");

  // A different key applies again and gets a different completion id.
  auto third = post("/v1/chat/completions", chat, "wf1:content.generate2");
  ASSERT_TRUE(third.ok());
  EXPECT_NE(body_json(third.response)["id"], body_json(first.response)["id"]);

  // The key belongs to that request: reusing it on another endpoint is a 422.
  auto misuse = remember("wf1:content.generate", "k");
  EXPECT_EQ(misuse.response.status, 422);

  json summary = sb.sandbox().ledger_summary();
  EXPECT_EQ(summary["side_effects"], 2);
  EXPECT_EQ(summary["replays"], 1);
  EXPECT_EQ(summary["workflows"], 1);
  json wf = sb.sandbox().ledger_for("wf1");
  ASSERT_EQ(wf["side_effects"].size(), 2u);
  EXPECT_EQ(wf["side_effects"][0]["replays"], 1);
  EXPECT_EQ(wf["side_effects"][0]["service"], "slm");
  EXPECT_EQ(wf["side_effects"][1]["replays"], 0);

  // The HTTP view is the same JSON.
  EXPECT_EQ(control("GET", "/sandbox/ledger"), summary);
  EXPECT_EQ(control("GET", "/sandbox/ledger/wf1"), wf);
}

TEST_F(SandboxTest, ChatCompletionContentIsDeterministicJson) {
  json chat = {{"model", "campaign-writer"},
               {"messages", json::array({{{"role", "system"}, {"content", "Be professional"}},
                                         {{"role", "user"}, {"content", "Campaign: Q4 Launch\nGo"}}})}};
  auto a = post("/v1/chat/completions", chat, "wa:content");
  auto b = post("/v1/chat/completions", chat, "wb:content");
  ASSERT_TRUE(a.ok() && b.ok());
  json ja = body_json(a.response), jb = body_json(b.response);
  EXPECT_EQ(ja["object"], "chat.completion");
  EXPECT_EQ(ja["model"], "campaign-writer");
  EXPECT_GT(ja["usage"]["total_tokens"].get<int>(), 0);
  std::string content = ja["choices"][0]["message"]["content"];
  EXPECT_EQ(content, jb["choices"][0]["message"]["content"].get<std::string>());
  json c = json::parse(content);
  for (const char* f :
       {"headline", "tagline", "email_subject", "email_body", "social_post", "blog_outline"}) {
    ASSERT_TRUE(c.contains(f)) << f;
    EXPECT_FALSE(c[f].get<std::string>().empty());
  }
  EXPECT_NE(c["headline"].get<std::string>().find("Q4 Launch"), std::string::npos);

  // A JSON user prompt: the campaign_name is the topic.
  json structured = {{"model", "m"},
                     {"messages", json::array({{{"role", "system"}, {"content", "Tone: casual."}},
                                               {{"role", "user"},
                                                {"content", json{{"campaign_goals", {"reach"}},
                                                                 {"campaign_name", "Spring Sale"}}
                                                                .dump()}}})}};
  auto s = post("/v1/chat/completions", structured, "wc:content");
  json sc = json::parse(body_json(s.response)["choices"][0]["message"]["content"].get<std::string>());
  EXPECT_EQ(sc["headline"], "Say hello to Spring Sale");
}

TEST_F(SandboxTest, LedgerKeepsPerWorkflowOrderAndSeparatesCompensations) {
  ASSERT_EQ(post("/v1/search", {{"query", "q4"}}, "wa:research.notion").response.status, 400)
      << "Notion needs Notion-Version";
  http::Headers notion = keyed("wa:research.notion");
  notion.emplace_back("Notion-Version", "2022-06-28");
  ASSERT_EQ(client.call(sb.base_url(), "POST", "/v1/search", R"({"query":"q4"})", notion)
                .response.status,
            200);
  ASSERT_EQ(post("/v1/tools/scrape", {{"url", "https://rival.example/"}}, "wa:research.scrape[0]")
                .response.status,
            200);
  ASSERT_EQ(remember("wb:content.remember", "drafts/wb").response.status, 200);
  ASSERT_EQ(remember("wa:content.remember", "drafts/wa").response.status, 200);
  auto del = client.call(sb.base_url(), "DELETE", "/v1/memories/drafts%2Fwa", "",
                         keyed("wa:content.remember:compensate"));
  ASSERT_EQ(del.response.status, 200) << del.response.body;

  json wa = sb.sandbox().ledger_for("wa");
  ASSERT_EQ(wa["side_effects"].size(), 3u);
  EXPECT_EQ(wa["side_effects"][0]["step"], "research.notion");
  EXPECT_EQ(wa["side_effects"][0]["service"], "notion");
  EXPECT_EQ(wa["side_effects"][1]["step"], "research.scrape[0]");
  EXPECT_EQ(wa["side_effects"][1]["service"], "tool_service");
  EXPECT_EQ(wa["side_effects"][2]["step"], "content.remember");
  EXPECT_EQ(wa["side_effects"][2]["idempotency_key"], "wa:content.remember");
  EXPECT_EQ(wa["side_effects"][2]["method"], "POST");
  EXPECT_EQ(wa["side_effects"][2]["path"], "/v1/remember");
  for (std::size_t i = 1; i < wa["side_effects"].size(); ++i) {
    EXPECT_LT(wa["side_effects"][i - 1]["seq"].get<int>(), wa["side_effects"][i]["seq"].get<int>());
  }
  ASSERT_EQ(wa["compensations"].size(), 1u);
  EXPECT_EQ(wa["compensations"][0]["step"], "content.remember");
  EXPECT_EQ(wa["compensations"][0]["method"], "DELETE");
  EXPECT_EQ(wa["compensations"][0]["service"], "memory_gateway");
  EXPECT_GT(wa["compensations"][0]["seq"].get<int>(), wa["side_effects"][2]["seq"].get<int>());

  json wb = sb.sandbox().ledger_for("wb");
  EXPECT_EQ(wb["side_effects"].size(), 1u);
  EXPECT_TRUE(wb["compensations"].empty());

  json summary = sb.sandbox().ledger_summary();
  EXPECT_EQ(summary["side_effects"], 4);
  EXPECT_EQ(summary["compensations"], 1);
  EXPECT_EQ(summary["workflows"], 2);

  // A failed compensation (absent object) is not ledgered; unknown workflows 404.
  auto again = client.call(sb.base_url(), "DELETE", "/v1/memories/drafts%2Fwa", "",
                           keyed("wa:content.remember2:compensate"));
  EXPECT_EQ(again.response.status, 404);
  EXPECT_EQ(sb.sandbox().ledger_summary()["compensations"], 1);
  auto missing = client.call(sb.base_url(), "GET", "/sandbox/ledger/nobody");
  EXPECT_EQ(missing.response.status, 404);
  EXPECT_TRUE(sb.sandbox().ledger_for("nobody")["side_effects"].empty());
}

TEST_F(SandboxTest, RequestsWithoutKeyAreAppliedEachTimeUnderEmptyWorkflow) {
  ASSERT_EQ(remember("", "k1").response.status, 200);
  ASSERT_EQ(remember("", "k1").response.status, 200);
  json summary = sb.sandbox().ledger_summary();
  EXPECT_EQ(summary["side_effects"], 2);
  EXPECT_EQ(summary["replays"], 0);
  EXPECT_EQ(summary["workflows"], 0);
  EXPECT_EQ(sb.sandbox().ledger_for("")["side_effects"].size(), 2u);
}

TEST_F(SandboxTest, FaultByPathFailsWithoutApplying) {
  json f = control("POST", "/sandbox/faults",
                   {{"path_prefix", "/v3/mail/send"}, {"method", "POST"}, {"status", 503}});
  ASSERT_TRUE(f.contains("id"));
  auto r = mail("w1:distribute.email");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response.status, 503);
  EXPECT_EQ(body_json(r.response)["status"], 503);
  // Other paths are unaffected.
  EXPECT_EQ(remember("w1:content.remember", "x").response.status, 200);
  json summary = sb.sandbox().ledger_summary();
  EXPECT_EQ(summary["side_effects"], 1);
  EXPECT_EQ(summary["faults_injected"], 1);

  EXPECT_EQ(control("GET", "/sandbox/faults")["faults"].size(), 1u);
  auto del = client.call(sb.base_url(), "DELETE", "/sandbox/faults/" + f["id"].get<std::string>());
  EXPECT_EQ(del.response.status, 200);
  EXPECT_TRUE(control("GET", "/sandbox/faults")["faults"].empty());
  auto ok = mail("w1:distribute.email");
  EXPECT_EQ(ok.response.status, 202);
  EXPECT_FALSE(ok.response.header("X-Message-Id").value_or("").empty());
  EXPECT_EQ(sb.sandbox().ledger_summary()["side_effects"], 2);
}

TEST_F(SandboxTest, FaultByWorkflowIdOnlyHitsThatWorkflow) {
  control("POST", "/sandbox/faults",
          {{"path_prefix", "/v1/remember"}, {"status", 500}, {"workflow_ids", {"w1"}}});
  EXPECT_EQ(remember("w1:content.remember", "a").response.status, 500);
  EXPECT_EQ(remember("w2:content.remember", "b").response.status, 200);
  EXPECT_EQ(remember("", "c").response.status, 200);
  EXPECT_TRUE(sb.sandbox().ledger_for("w1")["side_effects"].empty());
  EXPECT_EQ(sb.sandbox().ledger_for("w2")["side_effects"].size(), 1u);
}

TEST_F(SandboxTest, FaultWithCountStopsAfterNFailuresAndRetriesSucceed) {
  control("POST", "/sandbox/faults", {{"path_prefix", "/v1/remember"}, {"status", 503}, {"count", 2}});
  http::CallOptions retrying;
  retrying.max_retries = 2;
  retrying.initial_backoff = std::chrono::milliseconds(5);
  auto r = remember("w1:content.remember", "a", retrying);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response.status, 200);
  EXPECT_EQ(r.attempts, 3);
  json summary = sb.sandbox().ledger_summary();
  EXPECT_EQ(summary["side_effects"], 1);
  EXPECT_EQ(summary["faults_injected"], 2);
  EXPECT_EQ(control("GET", "/sandbox/faults")["faults"][0]["matched"], 2);
}

TEST_F(SandboxTest, FaultWithRetryAfterSetsHeader) {
  control("POST", "/sandbox/faults",
          {{"path_prefix", "/api/chat.postMessage"}, {"status", 429}, {"retry_after_s", 2}});
  auto r = post("/api/chat.postMessage", {{"channel", "#c"}, {"text", "t"}}, "w:review.slack");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response.status, 429);
  EXPECT_EQ(r.response.header("Retry-After").value_or(""), "2");
}

// A fault with "error" answers with the matched service's own error body,
// and applies nothing.
TEST_F(SandboxTest, FaultWithErrorAnswersWithTheServicesOwnErrorBody) {
  json f = control(
      "POST", "/sandbox/faults",
      {{"path_prefix", "/api/chat.postMessage"}, {"status", 200}, {"error", "channel_not_found"}});
  EXPECT_EQ(f["error"], "channel_not_found");
  EXPECT_EQ(control("GET", "/sandbox/faults")["faults"][0]["error"], "channel_not_found");
  auto slack = post("/api/chat.postMessage", {{"channel", "#c"}, {"text", "t"}}, "w:review.notify");
  ASSERT_TRUE(slack.ok());
  EXPECT_EQ(slack.response.status, 200);
  EXPECT_EQ(body_json(slack.response), json({{"ok", false}, {"error", "channel_not_found"}}));

  control("POST", "/sandbox/faults",
          {{"path_prefix", "/v3/mail/send"},
           {"status", 400},
           {"error", "The from object must be provided for every email send."}});
  auto mailed = mail("w:distribute.email");
  EXPECT_EQ(mailed.response.status, 400);
  json errors = body_json(mailed.response)["errors"];
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]["message"], "The from object must be provided for every email send.");
  EXPECT_TRUE(errors[0]["field"].is_null());

  control("POST", "/sandbox/faults",
          {{"path_prefix", "/repos/"},
           {"status", 403},
           {"retry_after_s", 30},
           {"error", "You have exceeded a secondary rate limit."}});
  auto pr = client.call(sb.base_url(), "POST", "/repos/acme/campaigns/pulls",
                        R"({"title":"t","head":"h","base":"main"})", keyed("w:review.pr"));
  EXPECT_EQ(pr.response.status, 403);
  EXPECT_EQ(pr.response.header("Retry-After").value_or(""), "30");
  json gh = body_json(pr.response);
  EXPECT_EQ(gh["message"], "You have exceeded a secondary rate limit.");
  EXPECT_EQ(gh["status"], "403");
  EXPECT_EQ(gh["documentation_url"], "https://docs.github.com/rest");

  control("POST", "/sandbox/faults",
          {{"path_prefix", "/2010-04-01/"}, {"status", 429}, {"error", "Too Many Requests"}});
  auto sms = client.call(
      sb.base_url(), "POST", "/2010-04-01/Accounts/AC1/Messages.json",
      "To=%2B15551234567&From=%2B15005550006&Body=hi",
      {{"Authorization", "Basic QUM6dG9r"}, {"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(sms.response.status, 429);
  EXPECT_EQ(body_json(sms.response)["code"], 20429);
  EXPECT_EQ(body_json(sms.response)["message"], "Too Many Requests");

  json summary = sb.sandbox().ledger_summary();
  EXPECT_EQ(summary["side_effects"], 0);
  EXPECT_EQ(summary["faults_injected"], 4);

  auto bad = client.call(sb.base_url(), "POST", "/sandbox/faults",
                         R"({"path_prefix":"/v1/search","error":42})");
  EXPECT_EQ(bad.response.status, 400);
}

// Twilio's magic To numbers of its test credentials answer with their
// error codes and apply nothing; 63016 (outside the 24-hour window) is
// WhatsApp's only.
TEST_F(SandboxTest, TwilioMagicTestNumbersAreRefusedWithTheirCodes) {
  const std::vector<std::pair<std::string, int>> cases = {
      {"+15005550001", 21211}, {"+15005550002", 21612}, {"+15005550003", 21408},
      {"+15005550004", 21610}, {"+15005550009", 21614}, {"whatsapp:+15005550001", 21211},
      {"whatsapp:+15005550016", 63016}};
  int n = 0;
  for (const auto& [to, code] : cases) {
    SCOPED_TRACE(to);
    auto r = text(to, "m:magic" + std::to_string(n++));
    ASSERT_TRUE(r.ok()) << r.error_message;
    EXPECT_EQ(r.response.status, 400);
    json b = body_json(r.response);
    EXPECT_EQ(b["code"], code);
    EXPECT_EQ(b["status"], 400);
    EXPECT_EQ(b["more_info"], "https://www.twilio.com/docs/errors/" + std::to_string(code));
  }
  EXPECT_EQ(body_json(text("+15005550001", "m:x").response)["message"],
            "The 'To' number +15005550001 is not a valid phone number.");
  EXPECT_EQ(body_json(text("whatsapp:+15005550016", "m:y").response)["message"],
            "Failed to send freeform message because you are outside the allowed window. If you "
            "are using WhatsApp, please use a Message Template.");
  EXPECT_EQ(sb.sandbox().ledger_summary()["side_effects"], 0);
  // 63016 is WhatsApp's: the same number by SMS is sent.
  EXPECT_EQ(text("+15005550016", "m:sms").response.status, 201);
  EXPECT_EQ(text("+15005550006", "m:ok").response.status, 201);
  EXPECT_EQ(sb.sandbox().ledger_for("m")["side_effects"].size(), 2u);
}

// "recipients" narrows a fault to the messages addressed to those people:
// Twilio's To (without "whatsapp:"), FCM's token, SendGrid's first "to".
TEST_F(SandboxTest, FaultWithRecipientsOnlyHitsMessagesToThem) {
  json f = control("POST", "/sandbox/faults",
                   {{"path_prefix", "/"},
                    {"status", 503},
                    {"recipients", {"+15551110001", "cust-9@example.com", "token-9"}}});
  EXPECT_EQ(f["recipients"], json({"+15551110001", "cust-9@example.com", "token-9"}));
  EXPECT_EQ(f["first_attempt_only"], false);
  EXPECT_EQ(text("+15551110001", "b:sms-1").response.status, 503);
  EXPECT_EQ(text("whatsapp:+15551110001", "b:wa-1").response.status, 503);
  EXPECT_EQ(text("+15551110002", "b:sms-2").response.status, 201);
  EXPECT_EQ(mail_to("cust-9@example.com", "b:mail-9").response.status, 503);
  EXPECT_EQ(mail_to("cust-8@example.com", "b:mail-8").response.status, 202);
  EXPECT_EQ(push_to("token-9", "b:push-9").response.status, 503);
  EXPECT_EQ(push_to("token-8", "b:push-8").response.status, 200);
  EXPECT_EQ(remember("b:remember", "x").response.status, 200);  // not a message
  json summary = sb.sandbox().ledger_summary();
  EXPECT_EQ(summary["faults_injected"], 4);
  EXPECT_EQ(summary["side_effects"], 4);
  // The ledger names each message's recipient.
  const json campaign_ledger = sb.sandbox().ledger_for("b");  // alive for the loop
  for (const json& e : campaign_ledger["side_effects"]) {
    if (e["step"] == "mail-8") {
      EXPECT_EQ(e["recipient"], "cust-8@example.com");
    }
  }

  auto bad = client.call(sb.base_url(), "POST", "/sandbox/faults",
                         R"({"path_prefix":"/","recipients":"+15551110001"})");
  EXPECT_EQ(bad.response.status, 400);
  bad = client.call(sb.base_url(), "POST", "/sandbox/faults",
                    R"({"path_prefix":"/","first_attempt_only":1})");
  EXPECT_EQ(bad.response.status, 400);
}

// first_attempt_only fails each Idempotency-Key the first time it reaches
// the fault, and lets its retries through; requests without a key always
// qualify.
TEST_F(SandboxTest, FaultFirstAttemptOnlyFailsEachKeyOnce) {
  json f = control("POST", "/sandbox/faults",
                   {{"path_prefix", "/v1/remember"}, {"status", 503}, {"first_attempt_only", true}});
  EXPECT_EQ(f["first_attempt_only"], true);
  EXPECT_EQ(remember("w:a", "a").response.status, 503);
  EXPECT_EQ(remember("w:a", "a").response.status, 200);
  auto replay = remember("w:a", "a");
  EXPECT_EQ(replay.response.status, 200);
  EXPECT_EQ(replay.response.header("Idempotent-Replayed").value_or(""), "true");
  EXPECT_EQ(remember("w:b", "b").response.status, 503);
  EXPECT_EQ(remember("", "c").response.status, 503);
  EXPECT_EQ(remember("", "c").response.status, 503);

  // With the transport's retries, each key gets through on its second attempt.
  http::CallOptions retrying;
  retrying.max_retries = 2;
  retrying.initial_backoff = std::chrono::milliseconds(1);
  auto r = remember("w:c", "c", retrying);
  EXPECT_EQ(r.response.status, 200);
  EXPECT_EQ(r.attempts, 2);
  control("DELETE", "/sandbox/faults");

  // A rate applies to the eligible (first) attempts only; retries all pass.
  control("POST", "/sandbox/faults",
          {{"path_prefix", "/v1/remember"},
           {"status", 503},
           {"rate", 0.5},
           {"first_attempt_only", true}});
  constexpr int kKeys = 200;
  int failed = 0;
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = "r:k" + std::to_string(i);
    if (remember(key, key).response.status == 503) {
      ++failed;
      EXPECT_EQ(remember(key, key).response.status, 200) << key;
    }
  }
  EXPECT_GT(failed, kKeys / 4);
  EXPECT_LT(failed, kKeys * 3 / 4);
  EXPECT_EQ(sb.sandbox().ledger_for("r")["side_effects"].size(), static_cast<std::size_t>(kKeys));
  EXPECT_EQ(control("GET", "/sandbox/faults")["faults"][0]["matched"], failed);

  // count still caps the failures.
  control("DELETE", "/sandbox/faults");
  control("POST", "/sandbox/faults",
          {{"path_prefix", "/v1/remember"}, {"status", 503}, {"count", 1}, {"first_attempt_only", true}});
  EXPECT_EQ(remember("c:1", "1").response.status, 503);
  EXPECT_EQ(remember("c:2", "2").response.status, 200);
}

// GET /sandbox/attempts?key=K counts every request with that key on a
// fake-service path, faulted or not, and the answers that applied it.
TEST_F(SandboxTest, AttemptsCountEveryRequestOfAKey) {
  control("POST", "/sandbox/faults", {{"path_prefix", "/v1/remember"}, {"status", 503}, {"count", 2}});
  http::CallOptions retrying;
  retrying.max_retries = 2;
  retrying.initial_backoff = std::chrono::milliseconds(1);
  ASSERT_EQ(remember("b-1:cust-1", "a", retrying).response.status, 200);
  json a = control("GET", "/sandbox/attempts?key=b-1%3Acust-1");
  EXPECT_EQ(a, json({{"key", "b-1:cust-1"}, {"attempts", 3}, {"successes", 1}, {"replays", 0}}));
  ASSERT_EQ(remember("b-1:cust-1", "a").response.status, 200);  // a replay
  a = control("GET", "/sandbox/attempts?key=b-1%3Acust-1");
  EXPECT_EQ(a["attempts"], 4);
  EXPECT_EQ(a["successes"], 1);
  EXPECT_EQ(a["replays"], 1);
  EXPECT_EQ(sb.sandbox().attempts_for("b-1:cust-1"), a);

  // Refusals count as attempts; unknown paths do not.
  EXPECT_EQ(text("+15005550001", "b-1:cust-2").response.status, 400);
  auto unauth = client.call(sb.base_url(), "POST", "/2010-04-01/Accounts/AC1/Messages.json",
                            "To=%2B1555&From=%2B1555&Body=x", {{"Idempotency-Key", "b-1:cust-2"}});
  EXPECT_EQ(unauth.response.status, 401);
  EXPECT_EQ(post("/v1/nowhere", json::object(), "b-1:cust-2").response.status, 404);
  a = control("GET", "/sandbox/attempts?key=b-1%3Acust-2");
  EXPECT_EQ(a["attempts"], 2);
  EXPECT_EQ(a["successes"], 0);

  EXPECT_EQ(control("GET", "/sandbox/attempts?key=never"),
            json({{"key", "never"}, {"attempts", 0}, {"successes", 0}, {"replays", 0}}));
  json all = control("GET", "/sandbox/attempts");
  EXPECT_EQ(all["keys"], 2);
  EXPECT_EQ(client.call(sb.base_url(), "GET", "/sandbox/attempts?key=").response.status, 400);
  EXPECT_EQ(client.call(sb.base_url(), "POST", "/sandbox/attempts").response.status, 405);

  control("POST", "/sandbox/reset");
  EXPECT_EQ(control("GET", "/sandbox/attempts?key=b-1%3Acust-1")["attempts"], 0);
}

// A broadcast's keys "{broadcast}:{customer}" are one workflow's entries,
// one per customer, with replays counted per key; ?summary=true gives the
// totals without the list.
TEST_F(SandboxTest, BroadcastLedgerHasOneEntryPerCustomer) {
  constexpr int kCustomers = 1000;
  auto send = [&](int i) {
    http::Request req;
    req.method = "POST";
    req.target = "/v1/projects/p1/messages:send";
    req.headers = keyed("b-123:cust-" + std::to_string(i));
    req.body = json{{"message", {{"token", "tok-" + std::to_string(i)}}}}.dump();
    int status = 0;
    sb.sandbox().handle(std::move(req), [&](http::Response r) { status = r.status; });
    return status;  // answered synchronously (no latency)
  };
  for (int i = 0; i < kCustomers; ++i) ASSERT_EQ(send(i), 200);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(send(i * 7), 200);  // replays
  ASSERT_EQ(send(7), 200);

  json wf = control("GET", "/sandbox/ledger/b-123");
  ASSERT_EQ(wf["side_effects"].size(), static_cast<std::size_t>(kCustomers));
  EXPECT_EQ(wf["side_effects"][9]["step"], "cust-9");
  EXPECT_EQ(wf["side_effects"][9]["idempotency_key"], "b-123:cust-9");
  EXPECT_EQ(wf["side_effects"][9]["recipient"], "tok-9");
  EXPECT_EQ(wf["side_effects"][7]["replays"], 2);

  json summary = control("GET", "/sandbox/ledger/b-123?summary=true");
  EXPECT_EQ(summary["workflow_id"], "b-123");
  EXPECT_EQ(summary["entries"], kCustomers);
  EXPECT_EQ(summary["replays"], 11);
  EXPECT_EQ(summary["keys_with_replays"].size(), 10u);
  EXPECT_EQ(summary["keys_with_replays"][1], "b-123:cust-7");
  EXPECT_EQ(sb.sandbox().ledger_counts_for("b-123"), summary);
  EXPECT_EQ(client.call(sb.base_url(), "GET", "/sandbox/ledger/none?summary=true").response.status,
            404);
}

TEST_F(SandboxTest, DroppedConnectionGivesTransportError) {
  control("POST", "/sandbox/faults", {{"path_prefix", "/v1/recall"}, {"drop_connection", true}});
  auto r = post("/v1/recall", {{"query", "x"}}, "w:research.memory");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(sb.sandbox().ledger_summary()["side_effects"], 0);
  // (The client may retry once on a fresh connection when a pooled one breaks.)
  EXPECT_GE(sb.sandbox().ledger_summary()["faults_injected"].get<int>(), 1);
}

TEST_F(SandboxTest, LatencyInjectionDelaysAnswers) {
  control("PUT", "/sandbox/config", {{"latency_ms", 150}});
  auto start = std::chrono::steady_clock::now();
  auto r = remember("w:a", "a");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.response.status, 200);
  EXPECT_GE(elapsed, std::chrono::milliseconds(150));
  json cfg = control("PUT", "/sandbox/config", {{"latency_ms", 0}});
  EXPECT_EQ(cfg["latency_ms"], 0);

  // A latency-only fault (status 0) on one path.
  control("POST", "/sandbox/faults", {{"path_prefix", "/v1/recall"}, {"status", 0}, {"latency_ms", 120}});
  start = std::chrono::steady_clock::now();
  auto slow = post("/v1/recall", {{"query", ""}}, "w:b");
  elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(slow.response.status, 200);
  EXPECT_GE(elapsed, std::chrono::milliseconds(120));
  EXPECT_EQ(sb.sandbox().ledger_summary()["faults_injected"], 0);

  // Health is never delayed by faults.
  start = std::chrono::steady_clock::now();
  client.call(sb.base_url(), "GET", "/health");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
}

TEST_F(SandboxTest, LatencyDoesNotBlockOtherRequests) {
  control("POST", "/sandbox/faults", {{"path_prefix", "/v1/recall"}, {"status", 0}, {"latency_ms", 400}});
  std::mutex mu;
  std::condition_variable cv;
  bool slow_done = false;
  http::Request req;
  req.method = "POST";
  req.target = "/v1/recall";
  req.body = R"({"query":""})";
  client.client().send(sb.base_url(), req, TestClient::no_retries(), [&](http::CallResult) {
    std::lock_guard lock(mu);
    slow_done = true;
    cv.notify_all();
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(remember("w:fast", "f").response.status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
  std::unique_lock lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return slow_done; }));
}

TEST_F(SandboxTest, FailureRateOneFailsEverything) {
  control("PUT", "/sandbox/config", {{"failure_rate", 1.0}});
  EXPECT_EQ(remember("w:a", "a").response.status, 503);
  control("PUT", "/sandbox/config", {{"failure_rate", 0.0}});
  EXPECT_EQ(remember("w:a", "a").response.status, 200);
  EXPECT_EQ(sb.sandbox().ledger_summary()["faults_injected"], 1);
}

TEST_F(SandboxTest, ResetClearsLedgerObjectsAndFaults) {
  ASSERT_EQ(remember("w:a", "brand/voice").response.status, 200);
  control("POST", "/sandbox/faults", {{"path_prefix", "/v3/"}, {"status", 500}});
  auto r = client.call(sb.base_url(), "POST", "/sandbox/reset");
  EXPECT_EQ(r.response.status, 200);
  json summary = sb.sandbox().ledger_summary();
  EXPECT_EQ(summary["side_effects"], 0);
  EXPECT_EQ(summary["workflows"], 0);
  EXPECT_TRUE(control("GET", "/sandbox/faults")["faults"].empty());
  auto recall = post("/v1/recall", {{"query", "brand/"}}, "");
  EXPECT_TRUE(body_json(recall.response)["memories"].empty());
  // The same key applies again after a reset.
  EXPECT_EQ(remember("w:a", "brand/voice").response.status, 200);
  EXPECT_EQ(sb.sandbox().ledger_summary()["replays"], 0);
}

// SendGrid's Email Activity: what was sent can be read back by message id,
// which is how a test sees that an edit reached the email.
TEST_F(SandboxTest, SentEmailIsFoundByItsMessageId) {
  auto sent = mail("wm:distribution.email");
  ASSERT_EQ(sent.response.status, 202) << sent.response.body;
  auto id = sent.response.header("X-Message-Id");
  ASSERT_TRUE(id);
  const std::string target = "/v3/messages/" + std::string(*id);
  auto got = client.call(sb.base_url(), "GET", target, "", keyed(""));
  ASSERT_EQ(got.response.status, 200) << got.response.body;
  json m = body_json(got.response);
  EXPECT_EQ(m["msg_id"], *id);
  EXPECT_EQ(m["subject"], "Hello");
  EXPECT_EQ(m["to_email"], "a@b.c");
  EXPECT_EQ(m["from_email"], "x@y.z");
  EXPECT_EQ(client.call(sb.base_url(), "GET", "/v3/messages/unknown", "", keyed("")).response.status,
            404);
  EXPECT_EQ(client.call(sb.base_url(), "GET", target).response.status, 401);
  // Reading it back adds nothing to the sending workflow's ledger.
  EXPECT_EQ(sb.sandbox().ledger_for("wm")["side_effects"].size(), 1u);
  client.call(sb.base_url(), "POST", "/sandbox/reset");
  EXPECT_EQ(client.call(sb.base_url(), "GET", target, "", keyed("")).response.status, 404);
}

TEST_F(SandboxTest, RecallFindsRememberedKeysByPrefix) {
  remember("w:1", "brand/acme/voice");
  remember("w:2", "brand/acme/colors");
  remember("w:3", "drafts/x");
  auto r = post("/v1/recall", {{"query", "brand/acme"}}, "w:4");
  json mem = body_json(r.response)["memories"];
  ASSERT_EQ(mem.size(), 2u);
  EXPECT_EQ(mem[0]["key"], "brand/acme/colors");
  EXPECT_EQ(mem[1]["value"]["v"], "brand/acme/voice");
}

TEST_F(SandboxTest, ErrorStatuses) {
  auto unknown = client.call(sb.base_url(), "GET", "/v9/nothing");
  EXPECT_EQ(unknown.response.status, 404);
  EXPECT_TRUE(body_json(unknown.response).is_object());

  auto wrong = client.call(sb.base_url(), "GET", "/v1/search", "", keyed("w:x"));
  EXPECT_EQ(wrong.response.status, 405);
  EXPECT_EQ(wrong.response.header("Allow").value_or(""), "POST");

  auto bad = client.call(sb.base_url(), "POST", "/v1/remember", "{not json", keyed("w:y"));
  EXPECT_EQ(bad.response.status, 400);
  EXPECT_TRUE(body_json(bad.response).is_object());

  auto unauth = client.call(sb.base_url(), "POST", "/v3/mail/send", "{}", {{"Idempotency-Key", "w:z"}});
  EXPECT_EQ(unauth.response.status, 401);
  auto slack = client.call(sb.base_url(), "POST", "/api/chat.postMessage",
                           R"({"channel":"#c","text":"t"})", {{"Idempotency-Key", "w:s"}});
  EXPECT_EQ(slack.response.status, 200);
  EXPECT_EQ(body_json(slack.response)["ok"], false);
  EXPECT_EQ(body_json(slack.response)["error"], "not_authed");

  auto bad_fault = client.call(sb.base_url(), "POST", "/sandbox/faults", R"({"status":503})");
  EXPECT_EQ(bad_fault.response.status, 400);
  auto control_405 = client.call(sb.base_url(), "DELETE", "/sandbox/ledger");
  EXPECT_EQ(control_405.response.status, 405);

  EXPECT_EQ(sb.sandbox().ledger_summary()["side_effects"], 0);
}

TEST_F(SandboxTest, ServiceValidationAndObjectLifecycles) {
  const std::string base = sb.base_url();
  // GitHub contents: create, mismatched delete, delete, absent delete.
  auto put = client.call(base, "PUT", "/repos/acme/site/contents/blog/post.md",
                         R"({"message":"add","content":"aGVsbG8="})", keyed("g:pages.publish"));
  ASSERT_EQ(put.response.status, 201) << put.response.body;
  std::string sha = body_json(put.response)["content"]["sha"];
  EXPECT_EQ(body_json(put.response)["content"]["size"], 5);
  // Replacing it needs its sha (GitHub: 422 without, 409 with a stale one).
  auto again = client.call(base, "PUT", "/repos/acme/site/contents/blog/post.md",
                           R"({"message":"edit","content":"aGk="})", keyed("g:pages.edit"));
  EXPECT_EQ(again.response.status, 422);
  EXPECT_NE(body_json(again.response)["message"].get<std::string>().find("\"sha\" wasn't supplied"),
            std::string::npos);
  auto stale =
      client.call(base, "PUT", "/repos/acme/site/contents/blog/post.md",
                  R"({"message":"edit","content":"aGk=","sha":"0000"})", keyed("g:pages.edit2"));
  EXPECT_EQ(stale.response.status, 409);
  auto mismatch = client.call(base, "DELETE", "/repos/acme/site/contents/blog/post.md",
                              R"({"message":"rm","sha":"0000"})", keyed("g:a:compensate"));
  EXPECT_EQ(mismatch.response.status, 409);
  auto rm = client.call(base, "DELETE", "/repos/acme/site/contents/blog/post.md",
                        json{{"message", "rm"}, {"sha", sha}}.dump(), keyed("g:pages.publish:compensate"));
  EXPECT_EQ(rm.response.status, 200);
  auto gone = client.call(base, "DELETE", "/repos/acme/site/contents/blog/post.md",
                          json{{"message", "rm"}, {"sha", sha}}.dump(), keyed("g:b:compensate"));
  EXPECT_EQ(gone.response.status, 404);
  // But the replay of the successful compensation still answers 200.
  auto replay = client.call(base, "DELETE", "/repos/acme/site/contents/blog/post.md",
                            json{{"message", "rm"}, {"sha", sha}}.dump(),
                            keyed("g:pages.publish:compensate"));
  EXPECT_EQ(replay.response.status, 200);

  // Grafana: create twice without overwrite -> 412.
  json dash = {{"dashboard", {{"uid", "camp-1"}, {"title", "Camp 1"}, {"panels", json::array()}}},
               {"overwrite", false}};
  EXPECT_EQ(client.call(base, "POST", "/api/dashboards/db", dash.dump(), keyed("g:c1")).response.status,
            200);
  EXPECT_EQ(client.call(base, "POST", "/api/dashboards/db", dash.dump(), keyed("g:c2")).response.status,
            412);
  auto delg = client.call(base, "DELETE", "/api/dashboards/uid/camp-1", "", keyed("g:c1:compensate"));
  EXPECT_EQ(delg.response.status, 200);
  EXPECT_EQ(body_json(delg.response)["message"], "Dashboard Camp 1 deleted");

  // Buffer form body.
  auto buf = client.call(base, "POST", "/1/updates/create.json",
                         "text=Hello+world&profile_ids%5B%5D=p1&access_token=tok",
                         {{"Content-Type", "application/x-www-form-urlencoded"},
                          {"Idempotency-Key", "g:social"}});
  ASSERT_EQ(buf.response.status, 200) << buf.response.body;
  json upd = body_json(buf.response)["updates"][0];
  EXPECT_EQ(upd["status"], "buffer");
  EXPECT_EQ(upd["text"], "Hello world");
  auto destroy = client.call(base, "POST", "/1/updates/" + upd["id"].get<std::string>() + "/destroy.json",
                             "access_token=tok", {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(body_json(destroy.response)["success"], true);

  // Twilio WhatsApp and cancel.
  http::Headers basic = {{"Authorization", "Basic QUM6dG9r"},
                         {"Content-Type", "application/x-www-form-urlencoded"}};
  auto sms = client.call(base, "POST", "/2010-04-01/Accounts/AC1/Messages.json",
                         "To=whatsapp%3A%2B15551234567&From=whatsapp%3A%2B15005550006&Body=hi", basic);
  ASSERT_EQ(sms.response.status, 201) << sms.response.body;
  std::string msid = body_json(sms.response)["sid"];
  EXPECT_EQ(body_json(sms.response)["status"], "queued");
  auto cancel = client.call(base, "POST", "/2010-04-01/Accounts/AC1/Messages/" + msid + ".json",
                            "Status=canceled", basic);
  EXPECT_EQ(cancel.response.status, 200);
  EXPECT_EQ(body_json(cancel.response)["status"], "canceled");

  // FCM.
  auto push = client.call(base, "POST", "/v1/projects/p1/messages:send",
                          R"({"message":{"topic":"news","notification":{"title":"t","body":"b"}}})",
                          keyed("g:push"));
  ASSERT_EQ(push.response.status, 200);
  std::string name = body_json(push.response)["name"];
  EXPECT_EQ(name.rfind("projects/p1/messages/", 0), 0u);
  auto fdel = client.call(base, "DELETE", "/v1/" + name, "", keyed("g:push:compensate"));
  EXPECT_EQ(fdel.response.status, 200);

  // Figma.
  auto img = client.call(base, "GET", "/v1/images/FILE?ids=1%3A2&format=png", "",
                         {{"X-Figma-Token", "t"}, {"Idempotency-Key", "g:design"}});
  ASSERT_EQ(img.response.status, 200);
  std::string url = body_json(img.response)["images"]["1:2"];
  EXPECT_EQ(url.rfind("https://figma-sandbox.local/images/", 0), 0u);
}

TEST_F(SandboxTest, ThousandConcurrentRequestsWithDistinctKeys) {
  constexpr int kCalls = 1000;
  std::atomic<int> ok{0}, done{0};
  std::mutex mu;
  std::condition_variable cv;
  http::CallOptions options;
  options.max_retries = 2;
  options.timeout = std::chrono::seconds(20);
  for (int i = 0; i < kCalls; ++i) {
    http::Request req;
    req.method = "POST";
    req.target = "/v1/remember";
    req.headers = keyed("wf" + std::to_string(i % 10) + ":step[" + std::to_string(i) + "]");
    req.body = json{{"key", "k" + std::to_string(i)}, {"value", i}}.dump();
    client.client().send(sb.base_url(), req, options, [&](http::CallResult r) {
      if (r.ok() && r.response.status == 200) ++ok;
      if (++done == kCalls) {
        std::lock_guard lock(mu);
        cv.notify_all();
      }
    });
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return done.load() == kCalls; }));
  EXPECT_EQ(ok.load(), kCalls);
  json summary = sb.sandbox().ledger_summary();
  EXPECT_EQ(summary["side_effects"], kCalls);
  EXPECT_EQ(summary["replays"], 0);
  EXPECT_EQ(summary["workflows"], 10);
  EXPECT_EQ(sb.sandbox().ledger_for("wf3")["side_effects"].size(), 100u);
}

TEST(SandboxDirect, HandleWorksWithoutServer) {
  TestSandbox sb;  // only for its io thread
  std::promise<http::Response> p;
  http::Request req;
  req.method = "POST";
  req.target = "/v1/remember";
  req.headers = {{"Idempotency-Key", "d:step"}};
  req.body = R"({"key":"a","value":1})";
  sb.sandbox().handle(req, [&](http::Response r) { p.set_value(std::move(r)); });
  auto r = p.get_future().get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(sb.sandbox().ledger_for("d")["side_effects"][0]["step"], "step");
}

}  // namespace
}  // namespace orch
