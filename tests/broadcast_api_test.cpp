// Customers, broadcasts and their messages through the REST API, against a
// real orchestrator and the sandbox: bad input changes nothing; a send to
// 1,000 customers with the sandbox failing 8 % of first attempts accounts
// for every message (sent, failed after its attempts or at once, skipped
// with the actor's reason), its stats equal its records, the sandbox saw
// each message at most once and a retry resends exactly the failed ones;
// lists page without duplicates or gaps while rows are inserted; receipts
// only move a message forward.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using nlohmann::json;
const http::Headers kJson = {{"Content-Type", "application/json"}};

class BroadcastApiTest : public AppTest {
 protected:
  HttpReply post(const std::string& target, const json& body, http::Headers headers = {}) {
    headers.insert(headers.end(), kJson.begin(), kJson.end());
    return client_->call("POST", target, body.dump(), headers);
  }
  void import(const json& customers) {
    HttpReply r = post("/v1/customers", customers);
    ASSERT_EQ(r.status, 200) << r.raw;
    ASSERT_EQ(r.body["refused"], 0) << r.raw;
  }
  std::string create(const std::string& template_text, const std::string& channel = "sms") {
    HttpReply r = post("/v1/broadcasts", {{"name", "Spring sale"}, {"channel", channel},
                                          {"base_template", template_text}});
    EXPECT_EQ(r.status, 201) << r.raw;
    EXPECT_EQ(r.body["status"], "draft");
    return r.body.value("id", "");
  }
  json wait_settled(const std::string& id) {
    json b;
    EXPECT_TRUE(eventually(
        [&] {
          b = client_->get("/v1/broadcasts/" + id).body;
          return b["status"] == "sent" || b["status"] == "failed";
        },
        std::chrono::seconds(60)))
        << b.dump();
    return b;
  }
  // Every message record of the broadcast, page by page.
  std::vector<json> messages(const std::string& id, const std::string& status = "") {
    std::vector<json> out;
    std::string cursor;
    for (;;) {
      std::string target = "/v1/broadcasts/" + id + "/messages?page_size=97";
      if (!status.empty()) target += "&status=" + status;
      if (!cursor.empty()) target += "&cursor=" + cursor;
      HttpReply r = client_->get(target);
      EXPECT_EQ(r.status, 200) << r.raw;
      for (const json& m : r.body["data"]) out.push_back(m);
      if (!r.body["pagination"].contains("next_cursor")) return out;
      cursor = r.body["pagination"]["next_cursor"];
    }
  }
  json attempts(const std::string& key) {
    HttpReply r = sandbox_->get("/sandbox/attempts?key=" + key);
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body;
  }
};

TEST_F(BroadcastApiTest, ATemplateWithUnknownPlaceholdersIsRefusedAndNothingIsCreated) {
  HttpReply r = post("/v1/broadcasts", {{"name", "x"}, {"channel", "sms"},
                                        {"base_template", "Hi {first_name}, {coupon} {vip}!"}});
  EXPECT_EQ(r.status, 422) << r.raw;
  EXPECT_EQ(r.body["unknown_placeholders"], json({"coupon", "vip"}));
  EXPECT_EQ(client_->get("/v1/broadcasts").body["pagination"]["total_count"], 0);
}

TEST_F(BroadcastApiTest, BadInputGetsAProblemAndChangesNothing) {
  import({{{"id", "c1"}, {"phone", "+254712345001"}}});
  const std::string id = create("Hi {first_name|there}");
  const std::string before = client_->get("/v1/broadcasts/" + id).raw;
  struct Case {
    std::string method, target, body;
    int status;
  } cases[] = {
      {"POST", "/v1/customers", "{", 400},
      {"POST", "/v1/customers", R"({"id":"c2","phone":"0712"})", 422},
      {"POST", "/v1/customers", R"({"id":"c2","phone":"+254712345002","shoe":1})", 422},
      {"POST", "/v1/customers", "[]", 400},
      {"PATCH", "/v1/customers/c1", R"({"phone":"12"})", 422},
      {"PATCH", "/v1/customers/nobody", R"({"first_name":"A"})", 404},
      {"DELETE", "/v1/customers/nobody", "", 404},
      {"GET", "/v1/customers?cursor=garbage", "", 400},
      {"GET", "/v1/customers?page_size=0", "", 400},
      {"POST", "/v1/broadcasts", R"({"name":"x","channel":"fax","base_template":"Hi"})", 422},
      {"POST", "/v1/broadcasts", R"({"name":"x","channel":"sms","base_template":"Hi {"})", 422},
      {"POST", "/v1/broadcasts",
       R"({"name":"x","channel":"sms","base_template":"Hi","scheduled_at":"tomorrow"})", 422},
      {"GET", "/v1/broadcasts?status=done&page_size=1000", "", 400},
      {"GET", "/v1/broadcasts/bc-nope", "", 404},
      {"POST", "/v1/broadcasts/bc-nope/send", R"({"customer_ids":["c1"]})", 404},
      {"POST", "/v1/broadcasts/" + id + "/send", R"({"customer_ids":["c1","zz"]})", 404},
      {"POST", "/v1/broadcasts/" + id + "/send", R"({"customer_ids":[]})", 422},
      {"POST", "/v1/broadcasts/" + id + "/send", R"({"customer_ids":["c1","c1"]})", 422},
      {"POST", "/v1/broadcasts/" + id + "/send",
       R"({"customer_ids":["c1"],"segment":{"all":true}})", 422},
      {"POST", "/v1/broadcasts/" + id + "/send", R"({"segment":{"tier":"gold"}})", 422},
      {"POST", "/v1/broadcasts/" + id + "/messages:retry", "", 409},
      {"GET", "/v1/broadcasts/" + id + "/messages?status=lost", "", 400},
      {"POST", "/v1/webhooks/twilio/status?broadcast_id=" + id + "&customer_id=c1",
       "MessageSid=SM1&MessageStatus=delivered", 404},
      {"POST", "/v1/webhooks/twilio/status", "MessageSid=SM1&MessageStatus=delivered", 400},
  };
  for (const Case& c : cases) {
    http::Headers headers = kJson;
    if (c.target.find("webhooks") != std::string::npos)
      headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    HttpReply r = client_->call(c.method, c.target, c.body, headers);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.target << " " << c.body << ": " << r.raw;
    EXPECT_NE(r.raw.find("\"type\""), std::string::npos) << c.target << ": not a problem: " << r.raw;
  }
  EXPECT_EQ(client_->get("/v1/broadcasts/" + id).raw, before);
  EXPECT_EQ(client_->get("/v1/customers").body["data"].size(), 1u);
  EXPECT_EQ(client_->get("/v1/customers/c1").body["phone"], "+254712345001");
}

TEST_F(BroadcastApiTest, ACsvImportReportsEveryRowAndABadRowChangesNothing) {
  const std::string csv =
      "id,phone,first_name,location,tier\r\n"
      "c1,+254712345001,Alice,Nairobi,gold\r\n"
      "c2,not-a-number,Bob,Nairobi,\r\n"
      "c3,+254712345003,\"Carol, Jr.\",Mombasa,silver\r\n";
  HttpReply r = client_->call("POST", "/v1/customers", csv, {{"Content-Type", "text/csv"}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["created"], 2);
  EXPECT_EQ(r.body["refused"], 1);
  EXPECT_EQ(r.body["rows"][1]["line"], 3);
  EXPECT_EQ(r.body["rows"][1]["result"], "refused");
  EXPECT_EQ(client_->get("/v1/customers/c2").status, 404);
  EXPECT_EQ(client_->get("/v1/customers/c3").body["first_name"], "Carol, Jr.");
  EXPECT_EQ(client_->get("/v1/customers/c1").body["attributes"]["tier"], "gold");
  // Again: nothing changes, and the report says so.
  r = client_->call("POST", "/v1/customers", csv, {{"Content-Type", "text/csv"}});
  EXPECT_EQ(r.body["unchanged"], 2) << r.raw;
  const json page = client_->get("/v1/customers?location=Nairobi").body;
  ASSERT_EQ(page["data"].size(), 1u);
  EXPECT_EQ(page["data"][0]["id"], "c1");
}

// The largest batch, every field set, in one request; one more is 413.
TEST_F(BroadcastApiTest, TenThousandCustomersWithEveryFieldImportInOneRequest) {
  json batch = json::array();
  for (int i = 0; i < 10'000; ++i)
    batch.push_back({{"id", "customer-" + std::to_string(i)}, {"phone", test_phone(i)},
                     {"first_name", "Firstname"}, {"last_name", "Lastname-" + std::to_string(i)},
                     {"location", "Nairobi"}, {"preferred_product", "Running Shoes"},
                     {"email", "customer" + std::to_string(i) + "@example.com"},
                     {"timezone", "Africa/Nairobi"}, {"attributes", {{"tier", "gold"}}}});
  HttpReply r = post("/v1/customers", batch);
  ASSERT_EQ(r.status, 200) << r.raw.substr(0, 300);
  EXPECT_EQ(r.body["created"], 10'000);
  batch.push_back({{"id", "one-more"}, {"phone", "+254700000001"}});
  EXPECT_EQ(post("/v1/customers", batch).status, 413);
  EXPECT_EQ(client_->get("/v1/customers/one-more").status, 404);
}

TEST_F(BroadcastApiTest, EveryMessageOfAThousandIsAccountedForAndRetryResendsOnlyTheFailed) {
  json customers = json::array();
  for (int i = 0; i < 1000; ++i) {
    json c = {{"id", "c" + std::to_string(i)}, {"phone", test_phone(i)}};
    if (i % 3 == 0) c["first_name"] = "Name" + std::to_string(i);
    if (i < 10) c["phone"] = "+15005550001";  // Twilio: not a valid number (21211)
    customers.push_back(std::move(c));
  }
  import(customers);
  for (int i = 10; i < 20; ++i) {  // opted out of SMS in their actors
    HttpReply r = post("/v1/users/c" + std::to_string(i) + "/opt-out", {{"channel", "sms"}});
    ASSERT_EQ(r.status, 200) << r.raw;
  }
  // The seed's mock sender: 8 % of first attempts fail; and five numbers
  // whose carrier is down for good.
  json down = json::array();
  for (int i = 20; i < 25; ++i) down.push_back(test_phone(i));
  inject({{"path_prefix", "/2010-04-01/"}, {"status", 503}, {"recipients", down}});
  inject({{"path_prefix", "/2010-04-01/"}, {"status", 503}, {"rate", 0.08},
          {"first_attempt_only", true}});
  const std::string id = create("Hi {first_name|there}, shoes are on sale!");
  HttpReply sent = post("/v1/broadcasts/" + id + "/send", {{"segment", {{"all", true}}}},
                        {{"Idempotency-Key", "spring-1"}});
  ASSERT_EQ(sent.status, 202) << sent.raw;
  EXPECT_EQ(sent.body["messages_queued"], 1000);
  EXPECT_EQ(sent.body["status"], "sending");
  // A repeat answers as the first did; another send is a conflict.
  HttpReply again = post("/v1/broadcasts/" + id + "/send", {{"segment", {{"all", true}}}},
                         {{"Idempotency-Key", "spring-1"}});
  EXPECT_EQ(again.status, 202);
  EXPECT_EQ(again.body, sent.body);
  EXPECT_EQ(post("/v1/broadcasts/" + id + "/send", {{"segment", {{"all", true}}}}).status, 409);

  const json b = wait_settled(id);
  EXPECT_EQ(b["status"], "sent");
  const std::vector<json> all = messages(id);
  ASSERT_EQ(all.size(), 1000u);
  std::map<std::string, int> by_status;
  std::set<std::string> seen;
  std::map<int, int> first_attempts;  // sandbox requests per customer, first send
  for (const json& m : all) {
    const std::string customer = m["customer_id"];
    EXPECT_TRUE(seen.insert(customer).second) << customer;
    ++by_status[m["status"]];
    const int n = std::stoi(customer.substr(1));
    const json a = attempts(id + ":" + customer);
    EXPECT_LE(a["attempts"].get<int>(), 3) << customer;
    EXPECT_LE(a["successes"].get<int>(), 1) << customer;
    first_attempts[n] = a["attempts"].get<int>();
    if (n < 10) {
      // At once: a permanent refusal (after a first-attempt 503, maybe).
      EXPECT_EQ(m["status"], "failed") << m;
      EXPECT_EQ(m["retry_count"], a["attempts"]) << m;
      EXPECT_LE(m["retry_count"].get<int>(), 2) << m;
      EXPECT_NE(m["last_error"].get<std::string>().find("21211"), std::string::npos) << m;
    } else if (n < 20) {
      EXPECT_EQ(m["status"], "skipped") << m;
      EXPECT_EQ(a["attempts"], 0) << customer;
      EXPECT_NE(m["last_error"].get<std::string>().find("opted"), std::string::npos) << m;
    } else if (n < 25) {
      EXPECT_EQ(m["status"], "failed") << m;
      EXPECT_EQ(m["retry_count"], 3) << m;
      EXPECT_EQ(a["attempts"], 3) << customer;
    } else {
      EXPECT_EQ(m["status"], "sent") << m;
      EXPECT_EQ(a["successes"], 1) << customer;
      const std::string expected =
          n % 3 == 0 ? "Hi Name" + std::to_string(n) + ", shoes are on sale!" : "Hi there, shoes are on sale!";
      EXPECT_EQ(m["rendered_content"], expected);
    }
  }
  EXPECT_EQ(by_status["sent"], 975);
  EXPECT_EQ(by_status["failed"], 15);
  EXPECT_EQ(by_status["skipped"], 10);
  const json& stats = b["stats"];
  EXPECT_EQ(stats["total"], 1000);
  EXPECT_EQ(stats["sent"], by_status["sent"]);
  EXPECT_EQ(stats["failed"], by_status["failed"]);
  EXPECT_EQ(stats["skipped"], by_status["skipped"]);
  EXPECT_EQ(stats["pending"], 0);
  EXPECT_EQ(stats["sending"], 0);
  EXPECT_EQ(messages(id, "failed").size(), 15u);
  // The metrics count the same outcomes.
  const std::string metrics = client_->get("/metrics").raw;
  for (const auto& [outcome, n] : std::map<std::string, int>{{"sent", 975}, {"skipped", 10}, {"failed", 15}})
    EXPECT_NE(metrics.find("fan_out_attempts_total{kind=\"broadcast\",outcome=\"" + outcome + "\"} " +
                           std::to_string(n) + "\n"),
              std::string::npos)
        << outcome;

  // The carrier is back: a retry resends exactly the 15 failed, with fresh
  // attempts; the invalid numbers fail again, the others go through.
  ASSERT_EQ(sandbox_->call("DELETE", "/sandbox/faults").status, 200);
  HttpReply retry = post("/v1/broadcasts/" + id + "/messages:retry", json::object(),
                         {{"Idempotency-Key", "spring-retry-1"}});
  ASSERT_EQ(retry.status, 202) << retry.raw;
  EXPECT_EQ(retry.body["messages_queued"], 15);
  const json after = wait_settled(id);
  EXPECT_EQ(after["stats"]["sent"], 980);
  EXPECT_EQ(after["stats"]["failed"], 10);
  EXPECT_EQ(after["sends"], 2);
  for (int n = 0; n < 1000; ++n) {
    const json a = attempts(id + ":c" + std::to_string(n));
    // Only the 15 failed were sent again, each with one request (the
    // invalid numbers fail at once, the carrier's go through).
    const int expected = first_attempts[n] + (n < 10 || (n >= 20 && n < 25) ? 1 : 0);
    EXPECT_EQ(a["attempts"], expected) << n;
    EXPECT_LE(a["successes"].get<int>(), 1) << n;
  }
}

// Sends racing with different keys: one is accepted, the others get 409;
// a repeat of the accepted one's key answers as it did.
TEST_F(BroadcastApiTest, OfConcurrentSendsOneIsAcceptedAndTheOthersConflict) {
  import({{{"id", "c1"}, {"phone", "+254712345001"}}, {{"id", "c2"}, {"phone", "+254712345002"}}});
  const std::string id = create("Hello");
  std::vector<std::thread> senders;
  std::vector<HttpReply> replies(6);
  for (int i = 0; i < 6; ++i)
    senders.emplace_back([&, i] {
      ApiClient client(app_->base_url());
      replies[i] = client.call("POST", "/v1/broadcasts/" + id + "/send",
                               json{{"segment", {{"all", true}}}}.dump(),
                               {{"Content-Type", "application/json"},
                                {"Idempotency-Key", "race-" + std::to_string(i)}});
    });
  for (auto& t : senders) t.join();
  int accepted = -1;
  for (int i = 0; i < 6; ++i) {
    if (replies[i].status == 202) {
      EXPECT_EQ(accepted, -1) << "two sends accepted";
      accepted = i;
    } else {
      EXPECT_EQ(replies[i].status, 409) << replies[i].raw;
    }
  }
  ASSERT_GE(accepted, 0);
  HttpReply again = post("/v1/broadcasts/" + id + "/send", {{"segment", {{"all", true}}}},
                         {{"Idempotency-Key", "race-" + std::to_string(accepted)}});
  EXPECT_EQ(again.status, 202) << again.raw;
  EXPECT_EQ(wait_settled(id)["stats"]["sent"], 2);
  EXPECT_EQ(client_->get("/v1/broadcasts/" + id).body["sends"], 1);
}

// Every channel: WhatsApp outside the 24-hour window (Twilio 63016) fails at
// once; email goes through SendGrid to the customer's address and skips one
// without; push goes to the customer's id as FCM's token.
TEST_F(BroadcastApiTest, EachChannelReachesItsGatewayAndNamesItsRefusals) {
  import({{{"id", "w1"}, {"phone", "+254712345001"}, {"email", "w1@example.com"}},
          {{"id", "w2"}, {"phone", "+15005550016"}},
          {{"id", "w3"}, {"phone", "+254712345003"}, {"email", "w3@example.com"}}});
  std::map<std::string, json> by_channel;
  for (const std::string channel : {"whatsapp", "email", "push"}) {
    const std::string id = create("Hi {first_name|there}", channel);
    ASSERT_EQ(post("/v1/broadcasts/" + id + "/send", {{"customer_ids", {"w1", "w2", "w3"}}}).status, 202);
    wait_settled(id);
    for (const json& m : messages(id)) by_channel[channel][m["customer_id"].get<std::string>()] = m;
    const json ledger = sandbox_->get("/sandbox/ledger/" + id).body;
    std::set<std::string> services;
    for (const json& e : ledger["side_effects"]) services.insert(e["service"].get<std::string>());
    EXPECT_EQ(services.size(), 1u) << channel << ": " << ledger.dump();
  }
  const json& w2 = by_channel["whatsapp"]["w2"];
  EXPECT_EQ(w2["status"], "failed");
  EXPECT_EQ(w2["retry_count"], 1);
  EXPECT_NE(w2["last_error"].get<std::string>().find("63016"), std::string::npos) << w2;
  EXPECT_EQ(by_channel["whatsapp"]["w1"]["status"], "sent");
  EXPECT_EQ(by_channel["email"]["w1"]["status"], "sent");
  EXPECT_EQ(by_channel["email"]["w2"]["status"], "skipped");
  EXPECT_EQ(by_channel["email"]["w2"]["last_error"], "no email address");
  for (const std::string c : {"w1", "w2", "w3"}) EXPECT_EQ(by_channel["push"][c]["status"], "sent") << c;
}

// A scheduled broadcast's send is accepted at once and waits for its time.
TEST_F(BroadcastApiTest, AScheduledSendWaitsForItsTime) {
  import({{{"id", "c1"}, {"phone", "+254712345001"}}});
  const auto at = std::chrono::system_clock::now() + std::chrono::milliseconds(1500);
  const std::time_t t = std::chrono::system_clock::to_time_t(at);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  HttpReply created = post("/v1/broadcasts", {{"name", "later"}, {"channel", "sms"},
                                              {"base_template", "Hi"}, {"scheduled_at", when}});
  ASSERT_EQ(created.status, 201) << created.raw;
  EXPECT_EQ(created.body["status"], "scheduled");
  const std::string id = created.body["id"];
  HttpReply sent = post("/v1/broadcasts/" + id + "/send", {{"customer_ids", {"c1"}}});
  ASSERT_EQ(sent.status, 202) << sent.raw;
  EXPECT_EQ(sent.body["status"], "scheduled");
  EXPECT_EQ(client_->get("/v1/broadcasts/" + id).body["stats"]["total"], 0);  // not yet drawn
  EXPECT_EQ(wait_settled(id)["stats"]["sent"], 1);
  EXPECT_GE(std::chrono::system_clock::now(), std::chrono::system_clock::from_time_t(t));
}

TEST_F(BroadcastApiTest, PagesHaveNoDuplicateOrGapWhileRowsAreInserted) {
  json first = json::array();
  for (int i = 0; i < 50; ++i) first.push_back({{"id", "a" + std::to_string(i)}, {"phone", test_phone(i)}});
  import(first);
  std::set<std::string> listed;
  std::string cursor;
  int inserted = 0;
  for (;;) {
    HttpReply r = client_->get("/v1/customers?page_size=7" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.raw;
    for (const json& c : r.body["data"]) EXPECT_TRUE(listed.insert(c["id"]).second) << c["id"];
    // Between pages, new customers arrive (they are newer: not on later pages).
    import({{{"id", "n" + std::to_string(inserted)}, {"phone", test_phone(500 + inserted)}}});
    ++inserted;
    if (!r.body["pagination"].contains("next_cursor")) break;
    cursor = r.body["pagination"]["next_cursor"];
  }
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(listed.count("a" + std::to_string(i))) << i;
  // Broadcasts: the same under inserts, and the seed's page numbers.
  for (int i = 0; i < 12; ++i) create("Hi " + std::to_string(i));
  std::set<std::string> ids;
  cursor.clear();
  for (;;) {
    HttpReply r = client_->get("/v1/broadcasts?channel=sms&page_size=5" +
                               (cursor.empty() ? "" : "&cursor=" + cursor));
    for (const json& b : r.body["data"]) EXPECT_TRUE(ids.insert(b["id"]).second);
    create("inserted meanwhile");
    if (!r.body["pagination"].contains("next_cursor")) break;
    cursor = r.body["pagination"]["next_cursor"];
  }
  EXPECT_EQ(ids.size(), 12u);
  const json page2 = client_->get("/v1/broadcasts?status=draft&page=2&page_size=10").body;
  EXPECT_EQ(page2["pagination"]["total_pages"], (page2["pagination"]["total_count"].get<int>() + 9) / 10);
  const int total = page2["pagination"]["total_count"];
  EXPECT_EQ(total, 12 + 3);  // and one created after each of the three pages
  EXPECT_EQ(page2["data"].size(), 5u);
}

TEST_F(BroadcastApiTest, ReceiptsOnlyMoveAMessageForward) {
  import({{{"id", "c1"}, {"phone", "+254712345001"}}});
  const std::string id = create("Hello");
  ASSERT_EQ(post("/v1/broadcasts/" + id + "/send", {{"customer_ids", {"c1"}}}).status, 202);
  wait_settled(id);
  auto receipt = [&](const std::string& message_sid, const std::string& status) {
    return client_->call("POST", "/v1/webhooks/twilio/status?broadcast_id=" + id + "&customer_id=c1",
                         "MessageSid=" + message_sid + "&MessageStatus=" + status,
                         {{"Content-Type", "application/x-www-form-urlencoded"}});
  };
  // The id the gateway gave the message: what Twilio's callbacks carry.
  const std::string message_sid = messages(id)[0].value("gateway_message_id", "");
  ASSERT_FALSE(message_sid.empty());
  HttpReply r = receipt(message_sid, "delivered");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["applied"], true);
  r = receipt(message_sid, "sent");  // late
  EXPECT_EQ(r.body["applied"], false);
  EXPECT_EQ(r.body["delivery"], "delivered");
  EXPECT_EQ(messages(id)[0]["delivery"], "delivered");
  EXPECT_EQ(receipt("SMother", "read").status, 409);
}

}  // namespace
}  // namespace orch::testing
