// Campaigns triggered by customer events, through the REST API against a
// real orchestrator and the sandbox's rewards fake: the seed's story (a $10
// credit for purchases over $50, paid once however often the event comes,
// and at most once for a `once` trigger), retries of transient failures,
// dead letters with their attempts, dry runs and replays paid once,
// discards, parked events woken by their customer or dead-lettered past
// their TTL, messages and campaigns as actions, and bad input refused with
// nothing recorded.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

#include "adapters/sandbox/sandbox.h"
#include "observability/log.h"
#include "tests/support/orchestrator_fixture.h"
#include "tests/support/otlp_receiver.h"

namespace orch::testing {
namespace {

using nlohmann::json;

const json kBigSpender = {
    {"name", "big spender credit"},
    {"event_type", "purchase"},
    {"conditions", {{"all", {{{"field", "data.amount"}, {"op", ">"}, {"value", 50}}}}}},
    {"re_eligibility", "every"},
    {"action", {{"type", "reward"}, {"amount", 10}, {"currency", "USD"}}}};

json purchase(const std::string& id, const std::string& customer, double amount) {
  return {{"id", id}, {"source", "shop"}, {"type", "purchase"}, {"subject", customer},
          {"data", {{"amount", amount}}}};
}

class EventTriggersApiTest : public AppTest {
 protected:
  void SetUp() override {
    config_ = test_config(dir_.path);
    config_.trigger_action_attempts = 3;
    config_.trigger_action_backoff_ms = 10;
    config_.event_park_ttl_seconds = 1;
    app_ = std::make_unique<api::OrchestratorApp>(config_);
    ASSERT_EQ(app_->start(), "");
    client_ = std::make_unique<ApiClient>(app_->base_url());
    sandbox_ = std::make_unique<ApiClient>(app_->sandbox()->base_url());
    customers({"c1", "c2", "c3"});
  }
  void customers(const std::vector<std::string>& ids) {
    json list = json::array();
    for (std::size_t i = 0; i < ids.size(); ++i)
      list.push_back({{"id", ids[i]}, {"phone", test_phone(static_cast<int>(i) + 100 * ids[i].size())},
                      {"first_name", "Amina"}});
    HttpReply r = client_->post("/v1/customers", list);
    ASSERT_EQ(r.status, 200) << r.raw;
  }
  std::string trigger(const json& body) {
    HttpReply r = client_->post("/v1/triggers", body);
    EXPECT_EQ(r.status, 201) << r.raw;
    return r.body.value("id", "");
  }
  json send(const json& events, int status = 202) {
    HttpReply r = client_->post("/v1/events", events);
    EXPECT_EQ(r.status, status) << r.raw;
    return r.body;
  }
  // The event once it is settled (processed, dead-lettered or parked as asked).
  json settled(const std::string& id, const std::string& status = "processed",
               const std::string& source = "shop") {
    json e;
    EXPECT_TRUE(eventually([&] {
      e = client_->get("/v1/events/" + id + "?source=" + source).body;
      return e.value("status", "") == status;
    })) << e.dump();
    return e;
  }
  json credits(const std::string& customer) {
    HttpReply r = sandbox_->get("/sandbox/credits?customer_id=" + customer);
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body;
  }
  api::AppConfig config_;

  json dead_letters(const std::string& query = "") {
    HttpReply r = client_->get("/v1/dead-letters" + query);
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body["data"];
  }
};

TEST_F(EventTriggersApiTest, TheSeedsStoryPaysOneCreditPerMatchingPurchase) {
  trigger(kBigSpender);
  json r = send(purchase("p-75", "c1", 75));
  EXPECT_EQ(r["accepted"], 1);
  json e = settled("p-75");
  ASSERT_EQ(e["matches"].size(), 1u) << e.dump();
  EXPECT_EQ(e["matches"][0]["status"], "done");
  send(purchase("p-30", "c1", 30));
  EXPECT_EQ(settled("p-30")["matches"].size(), 0u);
  EXPECT_EQ(credits("c1")["count"], 1);
  EXPECT_EQ(credits("c1")["total_amount"], 10.0);

  // The same event five times in turn, then five times at once: one credit.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(send(purchase("p-80", "c2", 80))["results"][0]["status"],
                                        i == 0 ? "accepted" : "duplicate");
  std::vector<std::thread> senders;
  std::vector<int> statuses(5);
  for (int i = 0; i < 5; ++i)
    senders.emplace_back([&, i] {
      ApiClient c(app_->base_url());
      statuses[i] = c.post("/v1/events", purchase("p-90", "c3", 90)).status;
    });
  for (std::thread& t : senders) t.join();
  for (int s : statuses) EXPECT_EQ(s, 202);
  settled("p-80");
  settled("p-90");
  EXPECT_EQ(credits("c2")["count"], 1);
  EXPECT_EQ(credits("c3")["count"], 1);
  EXPECT_EQ(credits("c3")["replays"], 0);
}

TEST_F(EventTriggersApiTest, AOnceTriggerPaysACustomerOnlyOnce) {
  json once = kBigSpender;
  once["re_eligibility"] = "once";
  const std::string id = trigger(once);
  send({{"events", {purchase("o-1", "c1", 60), purchase("o-2", "c1", 70), purchase("o-3", "c2", 99)}}});
  json second = settled("o-2");
  settled("o-1");
  settled("o-3");
  EXPECT_EQ(credits("c1")["count"], 1);
  EXPECT_EQ(credits("c2")["count"], 1);
  ASSERT_EQ(second["matches"].size(), 1u);
  EXPECT_EQ(second["matches"][0]["status"], "not_eligible");
  EXPECT_EQ(second["matches"][0]["trigger"], id);
}

TEST_F(EventTriggersApiTest, ATransientFailureIsRetriedAndPaidOnce) {
  trigger(kBigSpender);
  inject({{"path_prefix", "/v1/credits"}, {"status", 503}, {"first_attempt_only", true}});
  send(purchase("t-1", "c1", 100));
  json e = settled("t-1");
  ASSERT_EQ(e["matches"][0]["attempts"].size(), 2u) << e.dump();
  EXPECT_EQ(e["matches"][0]["attempts"][0]["status"], 503);
  EXPECT_EQ(e["matches"][0]["attempts"][1]["outcome"], "done");
  EXPECT_EQ(credits("c1")["count"], 1);
}

TEST_F(EventTriggersApiTest, APermanentFailureIsDeadLetteredAndAReplayPaysOnce) {
  const std::string id = trigger(kBigSpender);
  inject({{"path_prefix", "/v1/credits"}, {"status", 422}, {"error", "currency not supported"}});
  send(purchase("d-1", "c1", 100));
  json e = settled("d-1", "dead_lettered");
  ASSERT_EQ(dead_letters().size(), 1u);
  json letter = dead_letters("?error_class=rejected&trigger=" + id)[0];
  EXPECT_EQ(letter["trigger_version"], 1);
  EXPECT_EQ(letter["event"]["id"], "d-1");
  ASSERT_EQ(letter["attempts"].size(), 1u);
  EXPECT_EQ(letter["attempts"][0]["status"], 422);
  EXPECT_EQ(dead_letters("?error_class=retries_exhausted").size(), 0u);

  // Retries run out on a service that keeps failing: dead-lettered too.
  ASSERT_EQ(sandbox_->call("DELETE", "/sandbox/faults").status, 200);
  inject({{"path_prefix", "/v1/credits"}, {"status", 503}});
  send(purchase("d-2", "c2", 100));
  settled("d-2", "dead_lettered");
  json exhausted = dead_letters("?error_class=retries_exhausted");
  ASSERT_EQ(exhausted.size(), 1u);
  EXPECT_EQ(exhausted[0]["attempts"].size(), 3u);

  // A dry run lists both and changes nothing.
  ASSERT_EQ(sandbox_->call("DELETE", "/sandbox/faults").status, 200);
  HttpReply dry = client_->post("/v1/dead-letters:replay", {{"filter", {{"trigger", id}}}, {"dry_run", true}});
  ASSERT_EQ(dry.status, 200) << dry.raw;
  EXPECT_EQ(dry.body["count"], 2);
  EXPECT_EQ(dead_letters().size(), 2u);
  EXPECT_EQ(credits("c1")["count"], 0);

  // The replay pays each once; the dead letters go.
  const std::string first = letter["id"];
  HttpReply replay = client_->post("/v1/dead-letters:replay", {{"ids", {first, exhausted[0]["id"]}}});
  ASSERT_EQ(replay.status, 202) << replay.raw;
  EXPECT_EQ(replay.body["replaying"], 2);
  settled("d-1");
  settled("d-2");
  EXPECT_TRUE(eventually([&] { return dead_letters().empty(); }));
  EXPECT_EQ(credits("c1")["count"], 1);
  EXPECT_EQ(credits("c2")["count"], 1);
  EXPECT_EQ(client_->get("/v1/dead-letters/" + first).status, 404);
  json match = client_->get("/v1/events/d-1?source=shop").body["matches"][0];
  ASSERT_EQ(match["replays"].size(), 1u) << match.dump();
  EXPECT_EQ(match["replays"][0]["by"], "anonymous");
  // A second replay finds nothing to replay and pays nothing.
  HttpReply again = client_->post("/v1/dead-letters:replay", {{"ids", {first}}});
  EXPECT_EQ(again.body["results"][first], "not_found");
  EXPECT_EQ(credits("c1")["count"], 1);
}

TEST_F(EventTriggersApiTest, AReplayCutShortByARestartResumes) {
  trigger(kBigSpender);
  inject({{"path_prefix", "/v1/credits"}, {"status", 422}});
  send({{"events", {purchase("r-1", "c1", 100), purchase("r-2", "c2", 100), purchase("r-3", "c3", 100)}}});
  for (const char* id : {"r-1", "r-2", "r-3"}) settled(id, "dead_lettered");
  ASSERT_EQ(sandbox_->call("DELETE", "/sandbox/faults").status, 200);
  json ids = json::array();
  for (const json& letter : dead_letters()) ids.push_back(letter["id"]);
  // One a second: the first is moved at once, the rest wait in memory.
  HttpReply r = client_->post("/v1/dead-letters:replay", {{"ids", ids}, {"max_per_second", 1}});
  ASSERT_EQ(r.status, 202) << r.raw;
  EXPECT_EQ(r.body["replaying"], 3);
  app_.reset();  // what survives is what the store holds
  app_ = std::make_unique<api::OrchestratorApp>(config_);
  ASSERT_EQ(app_->start(), "");
  client_ = std::make_unique<ApiClient>(app_->base_url());
  for (const char* id : {"r-1", "r-2", "r-3"}) settled(id);
  EXPECT_TRUE(dead_letters().empty());
  json match = client_->get("/v1/events/r-3?source=shop").body["matches"][0];
  ASSERT_EQ(match["replays"].size(), 1u) << match.dump();
}

TEST_F(EventTriggersApiTest, ADiscardedDeadLetterIsAuditedAndNeverPaid) {
  trigger(kBigSpender);
  inject({{"path_prefix", "/v1/credits"}, {"status", 400}});
  std::mutex mu;
  std::vector<json> lines;
  observability::set_log_sink([&](const std::string& line) {
    std::lock_guard lock(mu);
    lines.push_back(json::parse(line, nullptr, false));
  });
  send(purchase("x-1", "c1", 100));
  settled("x-1", "dead_lettered");
  observability::set_log_sink(nullptr);
  bool logged = false;
  for (const json& l : lines)
    logged |= l.value("message", "") == "trigger action dead-lettered" &&
              l.value("correlation_id", "") == "x-1" && l.value("error_class", "") == "rejected";
  EXPECT_TRUE(logged) << "no dead-letter log line carries the event's id";
  const std::string id = dead_letters()[0]["id"];
  HttpReply r = client_->call("DELETE", "/v1/dead-letters/" + id);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["by"], "anonymous");
  EXPECT_EQ(client_->get("/v1/dead-letters/" + id).status, 404);
  EXPECT_EQ(client_->call("DELETE", "/v1/dead-letters/" + id).status, 404);
  EXPECT_EQ(client_->get("/v1/events/x-1?source=shop").body["matches"][0]["status"], "discarded");
  EXPECT_EQ(credits("c1")["count"], 0);

  // While a replay is under way the dead letter cannot be discarded: its
  // action may be done already.
  send(purchase("x-2", "c2", 100));
  settled("x-2", "dead_lettered");
  const std::string second = dead_letters()[0]["id"];
  ASSERT_EQ(sandbox_->call("DELETE", "/sandbox/faults").status, 200);
  ASSERT_EQ(sandbox_->call("PUT", "/sandbox/config", R"({"latency_ms": 1000})").status, 200);
  ASSERT_EQ(client_->post("/v1/dead-letters:replay", {{"ids", {second}}}).status, 202);
  EXPECT_TRUE(eventually([&] {
    return client_->get("/v1/dead-letters/" + second).body.value("state", "") == "replaying";
  }));
  EXPECT_EQ(client_->call("DELETE", "/v1/dead-letters/" + second).status, 409);
  ASSERT_EQ(sandbox_->call("PUT", "/sandbox/config", R"({"latency_ms": 0})").status, 200);
  settled("x-2");
  EXPECT_EQ(credits("c2")["count"], 1);
}

TEST_F(EventTriggersApiTest, AnEventForAnUnknownCustomerWaitsForItOrIsDeadLettered) {
  trigger(kBigSpender);
  send(purchase("u-1", "newcomer", 100));
  settled("u-1", "parked");
  customers({"newcomer"});
  settled("u-1");
  EXPECT_EQ(credits("newcomer")["count"], 1);

  // Past the TTL (1 s here) it is dead-lettered; a replay once the customer
  // exists matches it.
  send(purchase("u-2", "latecomer", 100));
  settled("u-2", "dead_lettered");
  json letters = dead_letters("?error_class=unknown_customer");
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0]["event"]["subject"], "latecomer");
  customers({"latecomer"});
  ASSERT_EQ(client_->post("/v1/dead-letters:replay", {{"ids", {letters[0]["id"]}}}).status, 202);
  settled("u-2");
  EXPECT_EQ(credits("latecomer")["count"], 1);
  EXPECT_TRUE(dead_letters().empty());
}

TEST_F(EventTriggersApiTest, AMessageActionGoesThroughTheCustomersActor) {
  trigger({{"name", "welcome"}, {"event_type", "signup"},
           {"action", {{"type", "message"}, {"channel", "sms"}, {"template", "Hi {first_name|there}, welcome!"}}}});
  ASSERT_EQ(client_->post("/v1/users/c2/opt-out", {{"channel", "sms"}}).status, 200);
  send({{"events", {{{"id", "s-1"}, {"source", "app"}, {"type", "signup"}, {"subject", "c1"}},
                    {{"id", "s-2"}, {"source", "app"}, {"type", "signup"}, {"subject", "c2"}}}}});
  json sent = settled("s-1", "processed", "app");
  json held = settled("s-2", "processed", "app");
  EXPECT_EQ(sent["matches"][0]["status"], "done") << sent.dump();
  EXPECT_EQ(held["matches"][0]["status"], "skipped") << held.dump();
  const std::string key = "trg:" + sent["matches"][0]["id"].get<std::string>() + ":c1";
  EXPECT_EQ(sandbox_->get("/sandbox/attempts?key=" + key).body["successes"], 1);
}

TEST_F(EventTriggersApiTest, ACampaignActionStartsASixPhaseCampaignForTheCustomer) {
  json input = sample_campaign("Tutorial follow-up");
  trigger({{"name", "tutorial follow-up"}, {"event_type", "tutorial_done"},
           {"action", {{"type", "campaign"}, {"input", input}}}});
  send({{"id", "t-9"}, {"source", "app"}, {"type", "tutorial_done"}, {"subject", "c3"}});
  json e = settled("t-9", "processed", "app");
  const std::string workflow = e["matches"][0]["result"]["workflow_id"];
  HttpReply w = client_->get("/v1/workflows/" + workflow);
  ASSERT_EQ(w.status, 200) << w.raw;
  EXPECT_EQ(w.body["input"]["target_user_ids"], json({"c3"})) << w.raw;
}

TEST_F(EventTriggersApiTest, APausedTriggerMatchesNothingAndEveryChangeIsAVersion) {
  HttpReply created = client_->post("/v1/triggers", kBigSpender);
  ASSERT_EQ(created.status, 201);
  const std::string id = created.body["id"];
  bool located = false;
  for (const auto& [name, value] : created.headers) located |= name == "Location" && value == "/v1/triggers/" + id;
  EXPECT_TRUE(located);
  HttpReply paused = client_->call("PATCH", "/v1/triggers/" + id, R"({"active": false})",
                                   {{"Content-Type", "application/json"}});
  ASSERT_EQ(paused.status, 200) << paused.raw;
  EXPECT_EQ(paused.body["version"], 2);
  send(purchase("v-1", "c1", 100));
  EXPECT_EQ(settled("v-1")["matches"].size(), 0u);
  HttpReply versions = client_->get("/v1/triggers/" + id + "/versions");
  ASSERT_EQ(versions.body["data"].size(), 2u);
  EXPECT_EQ(versions.body["data"][0]["active"], false);
  EXPECT_EQ(client_->get("/v1/triggers?active=false").body["data"].size(), 1u);
  EXPECT_EQ(client_->get("/v1/triggers?active=true").body["data"].size(), 0u);
  // A null takes the field's default, as at creation.
  HttpReply reset = client_->call("PATCH", "/v1/triggers/" + id,
                                  R"({"active": null, "re_eligibility": null})",
                                  {{"Content-Type", "application/json"}});
  ASSERT_EQ(reset.status, 200) << reset.raw;
  EXPECT_EQ(reset.body["active"], true);
  EXPECT_EQ(reset.body["re_eligibility"], "every");
  EXPECT_EQ(reset.body["version"], 3);
}

TEST_F(EventTriggersApiTest, BadInputGetsAProblemAndRecordsNothing) {
  HttpReply r = client_->post("/v1/events", {{"events", {purchase("b-1", "c1", 75),
                                                         {{"id", "b-2"}, {"source", "shop"}}}}});
  ASSERT_EQ(r.status, 422) << r.raw;
  EXPECT_EQ(r.body["invalid_events"], json({1}));
  EXPECT_NE(r.raw.find("events[1].type"), std::string::npos) << r.raw;
  EXPECT_EQ(client_->get("/v1/events/b-1?source=shop").status, 404);
  json many = json::array();
  for (int i = 0; i < 1001; ++i) many.push_back(purchase("m-" + std::to_string(i), "c1", 1));
  EXPECT_EQ(client_->post("/v1/events", {{"events", many}}).status, 413);
  EXPECT_EQ(client_->call("POST", "/v1/events", "{", {{"Content-Type", "application/json"}}).status, 400);
  EXPECT_EQ(client_->call("POST", "/v1/events", "42", {{"Content-Type", "application/json"}}).status, 400);
  HttpReply empty = client_->post("/v1/events", json::array());
  EXPECT_EQ(empty.status, 422) << empty.raw;
  EXPECT_EQ(empty.body["errors"][0]["field"], "events") << empty.raw;
  // The same id with another payload: 409 for a single event.
  send(purchase("b-3", "c1", 10));
  EXPECT_EQ(client_->post("/v1/events", purchase("b-3", "c1", 11)).status, 409);

  json bad = kBigSpender;
  bad["conditions"] = {{"all", {{{"field", "data..amount"}, {"op", "~="}, {"value", 5}}}}};
  HttpReply t = client_->post("/v1/triggers", bad);
  ASSERT_EQ(t.status, 422) << t.raw;
  EXPECT_NE(t.raw.find("unknown operator"), std::string::npos) << t.raw;
  EXPECT_NE(t.raw.find("malformed field path"), std::string::npos) << t.raw;
  EXPECT_EQ(client_->get("/v1/triggers").body["data"].size(), 0u);
  EXPECT_EQ(client_->get("/v1/triggers/trg-nope").status, 404);
  EXPECT_EQ(client_->post("/v1/dead-letters:replay", {{"ids", json::array()}}).status, 422);
  EXPECT_EQ(client_->post("/v1/dead-letters:replay", {{"filter", {{"error_class", "oops"}}}}).status, 422);
  EXPECT_EQ(client_->get("/v1/dead-letters?error_class=oops").status, 400);
}

TEST(EventTracesTest, AnEventsTraceparentContinuesIntoItsActionAndTheServiceCall) {
  const std::string caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string caller_span = "00f067aa0ba902b7";
  OtlpReceiver collector;
  TempDir dir;
  api::AppConfig config = test_config(dir.path);
  config.otlp.endpoint = collector.endpoint();
  config.otlp.schedule_delay = std::chrono::milliseconds(50);
  api::OrchestratorApp app(config);
  ASSERT_EQ(app.start(), "");
  ApiClient client(app.base_url());
  ASSERT_EQ(client.post("/v1/customers", {{"id", "c1"}, {"phone", test_phone(1)}}).status, 201);
  ASSERT_EQ(client.post("/v1/triggers", kBigSpender).status, 201);
  HttpReply sent = client.post("/v1/events", purchase("tp-1", "c1", 75),
                               {{"traceparent", "00-" + caller_trace + "-" + caller_span + "-01"}});
  ASSERT_EQ(sent.status, 202) << sent.raw;
  auto is_action = [](const json& s) { return s.value("name", "") == "trigger_action reward"; };
  std::vector<json> spans;
  std::string action_span;
  ASSERT_TRUE(eventually([&] {
    spans = collector.spans();
    for (const json& s : spans)
      if (is_action(s)) action_span = s["spanId"];
    bool client_call = false;
    for (const json& s : spans) client_call |= s.value("parentSpanId", "") == action_span;
    return !action_span.empty() && client_call;
  }, std::chrono::seconds(10)));
  for (const json& s : spans) {
    if (is_action(s)) {
      EXPECT_EQ(s["traceId"], caller_trace);
      EXPECT_EQ(s["parentSpanId"], caller_span);
      EXPECT_EQ(attr(s, "event.id"), "tp-1");
    } else if (s.value("parentSpanId", "") == action_span) {
      EXPECT_EQ(s["traceId"], caller_trace) << s.dump();
    }
  }
}

}  // namespace
}  // namespace orch::testing
