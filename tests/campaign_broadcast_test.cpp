// Campaigns with an `audience`, through the REST API with the sandbox: the
// sms and whatsapp distribution goes out as a broadcast "bc-<workflow>-<channel>"
// of the generated content, one message per customer through the customer's
// user actor, so caps and opt-outs hold across broadcasts and campaigns
// running at once; bad audiences are refused and start nothing; a rejection
// after distribution keeps what was sent; a restart in the middle of the
// broadcast resumes it and sends nothing twice.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "adapters/sandbox/sandbox.h"
#include "phases/audience/message_template.h"
#include "phases/campaign/audience_broadcast.h"
#include "tests/support/orchestrator_fixture.h"
#include "tests/support/sandbox_fixture.h"

namespace orch::testing {
namespace {

using nlohmann::json;
const http::Headers kJson = {{"Content-Type", "application/json"}};

std::string customer_id(int i) { return "cust" + std::to_string(i); }

json audience_campaign(const std::string& name, const json& channels, const json& audience) {
  json input = sample_campaign(name);
  input["channels"] = channels;
  input["audience"] = audience;
  return input;
}

// The output of step `id` in a workflow's view.
json step_output(const json& view, const std::string& id) {
  for (const json& phase : view["phases"])
    for (const json& step : phase["steps"])
      if (step["id"] == id) return step["output"];
  return nullptr;
}

class CampaignBroadcastTest : public AppTest {
 protected:
  HttpReply post(const std::string& target, const json& body, http::Headers headers = {}) {
    headers.insert(headers.end(), kJson.begin(), kJson.end());
    return client_->call("POST", target, body.dump(), headers);
  }
  // Customers 0..n-1 (test_phone(i), every other one with a first name), in
  // `location` when given; their ids.
  json import(int from, int n, const std::string& location = "") {
    json customers = json::array(), ids = json::array();
    for (int i = from; i < from + n; ++i) {
      json c = {{"id", customer_id(i)}, {"phone", test_phone(i)}};
      if (i % 2 == 0) c["first_name"] = "Name" + std::to_string(i);
      if (!location.empty()) c["location"] = location;
      customers.push_back(std::move(c));
      ids.push_back(customer_id(i));
    }
    HttpReply r = post("/v1/customers", customers);
    EXPECT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body["refused"], 0) << r.raw;
    return ids;
  }
  void approve(const std::string& id) {
    HttpReply r = post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}});
    ASSERT_EQ(r.status, 202) << r.raw;
  }
  // Every message record of broadcast `id`.
  std::vector<json> messages(const std::string& id) {
    std::vector<json> out;
    std::string cursor;
    for (;;) {
      std::string target = "/v1/broadcasts/" + id + "/messages?page_size=1000";
      if (!cursor.empty()) target += "&cursor=" + cursor;
      HttpReply r = client_->get(target);
      EXPECT_EQ(r.status, 200) << r.raw;
      for (const json& m : r.body["data"]) out.push_back(m);
      if (!r.body["pagination"].contains("next_cursor")) return out;
      cursor = r.body["pagination"]["next_cursor"];
    }
  }
  // The generated SMS text: what the channel's single send would carry.
  static std::string generated(const json& view) {
    const json pieces = step_output(view, "content.generate")["content_pieces"];
    return pieces.value("headline", "") + " " + pieces.value("tagline", "");
  }
};

TEST(AudienceTemplate, GreetsAndDoublesBracesAndFitsTheLimit) {
  EXPECT_EQ(phases::audience_template("Save {50%} now}"),
            "Hi {first_name|there}, Save {{50%}} now}}");
  EXPECT_TRUE(phases::audience::check_template(phases::audience_template("a{b}c{{"), nullptr));
  // Two-byte characters and braces past the limit: cut whole, still valid.
  for (const std::string unit : {"\xC3\xA9", "{", "}", "x"}) {
    std::string long_text;
    for (int i = 0; i < 2000; ++i) long_text += unit;
    const std::string t = phases::audience_template(long_text);
    EXPECT_LE(t.size(), phases::audience::kMaxTemplateBytes);
    EXPECT_GE(t.size(), phases::audience::kMaxTemplateBytes - 2);
    EXPECT_TRUE(phases::audience::check_template(t, nullptr)) << unit;
    const std::string rendered = phases::audience::render_template(t, json::object());
    EXPECT_EQ(rendered.rfind("Hi there, ", 0), 0u);
    EXPECT_EQ(rendered.substr(10).size() % unit.size(), 0u) << unit;
  }
}

TEST_F(CampaignBroadcastTest, AnSmsCampaignToFiftyCustomersSendsTheGeneratedContentToEach) {
  const json ids = import(0, 50);
  json input = audience_campaign("Spring {sale}", {"email", "sms"}, {{"customer_ids", ids}});
  const std::string id = start(input);
  client_->wait_for_status(id, "awaiting_approval");
  approve(id);
  ASSERT_EQ(client_->wait_for_status(id, "completed")["status"], "completed");
  const json view = client_->get("/v1/workflows/" + id).body;
  const std::string content = generated(view);
  // The name's braces reach the content, and go out as they are.
  ASSERT_NE(content.find("Spring {sale}"), std::string::npos) << content;

  const std::string bc = "bc-" + id + "-sms";
  const json out = step_output(view, "distribution.sms");
  EXPECT_EQ(out, json({{"broadcast_id", bc}, {"channel", "sms"}, {"total", 50}, {"sent", 50},
                       {"failed", 0}, {"skipped", 0}}));
  HttpReply b = client_->get("/v1/broadcasts/" + bc);
  ASSERT_EQ(b.status, 200) << b.raw;
  EXPECT_EQ(b.body["status"], "sent");
  EXPECT_EQ(b.body["name"], "Spring {sale}");
  EXPECT_EQ(b.body["channel"], "sms");
  EXPECT_EQ(b.body["stats"]["total"], 50);
  EXPECT_EQ(b.body["stats"]["sent"], 50);
  const std::vector<json> all = messages(bc);
  ASSERT_EQ(all.size(), 50u);
  std::set<std::string> seen;
  for (const json& m : all) {
    EXPECT_EQ(m["status"], "sent") << m;
    const std::string customer = m["customer_id"];
    seen.insert(customer);
    const int n = std::stoi(customer.substr(4));
    const std::string greeting = n % 2 == 0 ? "Hi Name" + std::to_string(n) + ", " : "Hi there, ";
    EXPECT_EQ(m["rendered_content"], greeting + content) << m;
  }
  EXPECT_EQ(seen.size(), 50u);
  // 50 SMS under the broadcast's key; none under the campaign's own.
  const json ledger = app_->sandbox()->ledger_for(bc);
  EXPECT_EQ(ledger["side_effects"].size(), 50u) << ledger.dump().substr(0, 400);
  std::set<std::string> recipients;
  for (const json& e : ledger["side_effects"]) {
    EXPECT_EQ(e["service"], "twilio");
    recipients.insert(e.value("recipient", ""));
  }
  EXPECT_EQ(recipients.size(), 50u);
  const json campaign_ledger = app_->sandbox()->ledger_for(id);  // alive for the loop
  for (const json& e : campaign_ledger["side_effects"])
    EXPECT_NE(e["service"], "twilio") << e.dump();
  // Sent once: a send of it through the API is a conflict.
  EXPECT_EQ(post("/v1/broadcasts/" + bc + "/send", {{"customer_ids", ids}}).status, 409);
}

TEST_F(CampaignBroadcastTest, ASegmentGetsOneBroadcastPerChannelAndMissingIdsAreSkipped) {
  import(0, 4, "Nairobi");
  import(4, 3, "Mombasa");
  json input = audience_campaign("Coast", {"sms", "whatsapp", "blog"},
                                 {{"segment", {{"location", "Mombasa"}}}});
  const std::string id = start(input);
  client_->wait_for_status(id, "awaiting_approval");
  approve(id);
  ASSERT_EQ(client_->wait_for_status(id, "completed")["status"], "completed");
  for (const char* channel : {"sms", "whatsapp"}) {
    const json b = client_->get("/v1/broadcasts/bc-" + id + "-" + channel).body;
    EXPECT_EQ(b["status"], "sent") << b.dump();
    EXPECT_EQ(b["stats"]["sent"], 3) << b.dump();
    EXPECT_EQ(b["stats"]["total"], 3);
  }
  // Ids checked for shape only: one unknown at send time is skipped.
  const std::string other =
      start(audience_campaign("Ghosts", {"sms"}, {{"customer_ids", {customer_id(0), "ghost"}}}));
  client_->wait_for_status(other, "awaiting_approval");
  approve(other);
  ASSERT_EQ(client_->wait_for_status(other, "completed")["status"], "completed");
  const std::string bc = "bc-" + other + "-sms";
  std::map<std::string, json> by_customer;
  for (const json& m : messages(bc)) by_customer[m["customer_id"]] = m;
  ASSERT_EQ(by_customer.size(), 2u);
  EXPECT_EQ(by_customer[customer_id(0)]["status"], "sent");
  EXPECT_EQ(by_customer["ghost"]["status"], "skipped");
  EXPECT_EQ(by_customer["ghost"]["last_error"], "no such customer");
}

// The seed's guarantee across kinds: a broadcast and a campaign to the same
// customers at once, a cap of one a day: one SMS each; opted out: none.
TEST_F(CampaignBroadcastTest, CapsAndOptOutsHoldAcrossABroadcastAndACampaignAtOnce) {
  constexpr int kCustomers = 20;
  const json ids = import(0, kCustomers);
  for (int i = 0; i < kCustomers - 1; ++i) {
    HttpReply r = client_->call("PUT", "/v1/users/" + customer_id(i),
                                json({{"max_messages_per_day", 1}, {"rolling", {"day"}}}).dump(),
                                kJson);
    ASSERT_TRUE(r.status == 200 || r.status == 201) << r.raw;
  }
  const std::string opted = customer_id(kCustomers - 1);
  ASSERT_EQ(post("/v1/users/" + opted + "/opt-out", {{"channel", "sms"}}).status, 200);

  const std::string campaign = start(audience_campaign("Both", {"sms"}, {{"customer_ids", ids}}));
  client_->wait_for_status(campaign, "awaiting_approval");
  HttpReply created = post("/v1/broadcasts", {{"name", "Flash"}, {"channel", "sms"},
                                              {"base_template", "Hi {first_name|there}, flash!"}});
  ASSERT_EQ(created.status, 201) << created.raw;
  const std::string broadcast = created.body["id"];
  // Both at once: the send and the approval, back to back.
  ASSERT_EQ(post("/v1/broadcasts/" + broadcast + "/send", {{"customer_ids", ids}}).status, 202);
  approve(campaign);
  ASSERT_EQ(client_->wait_for_status(campaign, "completed")["status"], "completed");
  json b;
  ASSERT_TRUE(eventually([&] {
    b = client_->get("/v1/broadcasts/" + broadcast).body;
    return b["status"] == "sent" || b["status"] == "failed";
  })) << b.dump();

  const std::string from_campaign = "bc-" + campaign + "-sms";
  std::map<std::string, std::vector<json>> by_customer;
  for (const std::string& bc : {broadcast, from_campaign})
    for (const json& m : messages(bc)) by_customer[m["customer_id"]].push_back(m);
  ASSERT_EQ(by_customer.size(), static_cast<std::size_t>(kCustomers));
  int from_broadcast = 0;
  for (auto& [customer, records] : by_customer) {
    ASSERT_EQ(records.size(), 2u) << customer;
    const json user = client_->get("/v1/users/" + customer).body;
    if (customer == opted) {
      for (const json& m : records) {
        EXPECT_EQ(m["status"], "skipped") << m;
        EXPECT_EQ(m["last_error"], "opted_out:sms") << m;
      }
      EXPECT_EQ(user["total_messages_sent"], 0) << user.dump();
      continue;
    }
    EXPECT_EQ(user["total_messages_sent"], 1) << user.dump();
    EXPECT_TRUE(user["pending_reservations"].empty()) << user.dump();
    int sent = 0, skipped = 0;
    for (const json& m : records) {
      if (m["status"] == "sent") ++sent;
      if (m["status"] != "skipped") continue;
      ++skipped;
      EXPECT_NE(m["last_error"].get<std::string>().find("max_messages_per_day"),
                std::string::npos)
          << m;
    }
    EXPECT_EQ(sent, 1) << customer;
    EXPECT_EQ(skipped, 1) << customer;
    if (records[0]["status"] == "sent") ++from_broadcast;
  }
  // The sandbox saw one SMS per capped customer, across both.
  const std::size_t twilio = app_->sandbox()->ledger_for(broadcast)["side_effects"].size() +
                             app_->sandbox()->ledger_for(from_campaign)["side_effects"].size();
  EXPECT_EQ(twilio, static_cast<std::size_t>(kCustomers - 1));
  const json out = step_output(client_->get("/v1/workflows/" + campaign).body, "distribution.sms");
  EXPECT_EQ(out["sent"], kCustomers - 1 - from_broadcast);
  EXPECT_EQ(out["skipped"], 1 + from_broadcast);
}

TEST_F(CampaignBroadcastTest, BadAudiencesAreRefusedAndStartNothing) {
  json many = json::array();
  for (int i = 0; i < 100'001; ++i) many.push_back("c" + std::to_string(i));
  const std::vector<json> bad = {
      "everyone",
      json::array(),
      json::object(),
      {{"customer_ids", json::array()}},
      {{"customer_ids", "c1"}},
      {{"customer_ids", {1}}},
      {{"customer_ids", {"c1", "c1"}}},
      {{"customer_ids", {"has space"}}},
      {{"customer_ids", many}},
      {{"segment", json::object()}},
      {{"segment", {{"tier", "gold"}}}},
      {{"segment", {{"all", false}}}},
      {{"segment", {{"location", ""}}}},
      {{"segment", {{"location", "Nairobi"}, {"all", true}}}},
      {{"customer_ids", {"c1"}}, {"segment", {{"all", true}}}},
      {{"everyone", true}},
  };
  int n = 0;
  for (const json& audience : bad) {
    json input = audience_campaign("Bad", {"sms"}, audience);
    input["workflow_id"] = "bad-audience-" + std::to_string(n++);
    HttpReply r = post("/v1/campaigns", input);
    EXPECT_EQ(r.status, 422) << audience.dump().substr(0, 80) << " " << r.raw.substr(0, 300);
    EXPECT_NE(r.raw.find("audience"), std::string::npos) << r.raw.substr(0, 300);
    EXPECT_EQ(client_->get("/v1/workflows/" + input["workflow_id"].get<std::string>()).status, 404);
  }
  // One or the other; and only with a channel it is sent to on.
  json both = audience_campaign("Both", {"sms"}, {{"customer_ids", {"c1"}}});
  both["target_user_ids"] = {"c1"};
  json no_channel = audience_campaign("Email only", {"email"}, {{"segment", {{"all", true}}}});
  for (const json& input : {both, no_channel}) {
    HttpReply r = post("/v1/campaigns", input);
    EXPECT_EQ(r.status, 422) << r.raw;
    EXPECT_NE(r.raw.find("\"audience\""), std::string::npos) << r.raw;
  }
  EXPECT_EQ(client_->get("/v1/broadcasts").body["pagination"]["total_count"], 0);
}

// Rejected after distribution (the dashboard refused): the broadcast's
// messages stay sent and keep counting; the compensation says so.
TEST_F(CampaignBroadcastTest, TheCompensationKeepsTheBroadcastsMessages) {
  const json ids = import(0, 3);
  inject({{"path_prefix", "/api/dashboards"}, {"status", 400}});
  const std::string id = start(audience_campaign("Unwound", {"whatsapp"}, {{"customer_ids", ids}}));
  client_->wait_for_status(id, "awaiting_approval");
  approve(id);
  EXPECT_EQ(client_->wait_for_status(id, "failed")["status"], "failed");
  json history = client_->get("/v1/workflows/" + id + "/history?page_size=1000").body;
  json kept;
  for (const json& r : history["data"])
    if (r["type"] == "compensation_completed" && r["data"]["step"] == "distribution.whatsapp")
      kept = r["data"]["output"];
  ASSERT_TRUE(kept.is_object()) << history.dump().substr(0, 2000);
  EXPECT_EQ(kept["broadcast_id"], "bc-" + id + "-whatsapp");
  EXPECT_EQ(kept["messages_kept"], 3);
  EXPECT_EQ(kept["released"], 0);
  const json b = client_->get("/v1/broadcasts/bc-" + id + "-whatsapp").body;
  EXPECT_EQ(b["stats"]["sent"], 3) << b.dump();
  EXPECT_EQ(client_->get("/v1/users/" + customer_id(0)).body["total_messages_sent"], 1);
}

// The orchestrator stops with three SMS unanswered; the next one re-runs the
// step, which resumes the same fan-out: the three are sent again with their
// reservations (the gateway drops the repeats), nothing else is.
TEST(CampaignBroadcastRestartTest, ARestartMidBroadcastResumesItAndSendsNothingTwice) {
  TestSandbox test_sandbox;  // outlives both orchestrators, keeping its ledger
  sandbox::Sandbox& sb = test_sandbox.sandbox();
  TempDir dir;
  api::AppConfig config = test_config(dir.path);
  config.sandbox = false;
  config.adapters = adapters::AdapterConfig::pointing_at(sb.base_url());
  ApiClient sandbox_client(sb.base_url());
  constexpr int kCustomers = 8;
  json customers = json::array(), ids = json::array();
  for (int i = 0; i < kCustomers; ++i) {
    customers.push_back({{"id", customer_id(i)}, {"phone", test_phone(i)}});
    ids.push_back(customer_id(i));
  }
  std::string id, bc;
  {
    api::OrchestratorApp first(config);
    ASSERT_EQ(first.start(), "");
    ApiClient client(first.base_url());
    ASSERT_EQ(client.post("/v1/customers", customers, kJson).status, 200);
    HttpReply r = client.post("/v1/campaigns",
                              audience_campaign("Restart", {"sms"}, {{"customer_ids", ids}}));
    ASSERT_EQ(r.status, 201) << r.raw;
    id = r.body["workflow_id"];
    bc = "bc-" + id + "-sms";
    client.wait_for_status(id, "awaiting_approval");
    ASSERT_EQ(sandbox_client
                  .post("/sandbox/faults", {{"path_prefix", "/2010-04-01/"},
                                            {"status", 0},
                                            {"latency_ms", 3000},
                                            {"count", 3}})
                  .status,
              201);
    ASSERT_EQ(client.post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}})
                  .status,
              202);
    ASSERT_TRUE(eventually([&] { return sb.ledger_for(bc)["side_effects"].size() == kCustomers; }));
    ASSERT_TRUE(eventually(
        [&] { return client.get("/v1/broadcasts/" + bc).body["stats"]["sent"] == kCustomers - 3; }));
  }  // stops with three answers in flight

  api::OrchestratorApp second(config);
  ASSERT_EQ(second.start(), "");
  ApiClient client(second.base_url());
  const json done = client.wait_for_status(id, "completed");
  ASSERT_EQ(done["status"], "completed") << done.dump();
  const json b = client.get("/v1/broadcasts/" + bc).body;
  EXPECT_EQ(b["status"], "sent");
  EXPECT_EQ(b["stats"]["total"], kCustomers) << b.dump();
  EXPECT_EQ(b["stats"]["sent"], kCustomers) << b.dump();
  const json ledger = sb.ledger_for(bc);
  EXPECT_EQ(ledger["side_effects"].size(), static_cast<std::size_t>(kCustomers));
  int replays = 0;
  for (const json& e : ledger["side_effects"]) replays += e["replays"].get<int>();
  EXPECT_EQ(replays, 3);  // the three unanswered sends, sent again and deduplicated
  for (const json& c : ids) {
    const json state = client.get("/v1/users/" + c.get<std::string>()).body;
    EXPECT_EQ(state["total_messages_sent"], 1) << state.dump();
    EXPECT_TRUE(state["pending_reservations"].empty()) << state.dump();
  }
}

}  // namespace
}  // namespace orch::testing
