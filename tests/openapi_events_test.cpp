// docs/reference/openapi.json against real responses of the customer
// events', triggers' and dead-letter queue's routes, success and error
// paths, with and without authentication (see openapi_test.cpp for the
// method): events accepted, repeated, conflicting, refused, parked for an
// unknown customer and woken; triggers of each action created, refused,
// changed and listed with their versions; rewards the sandbox refuses
// dead-lettered, listed, previewed, replayed and discarded.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "adapters/sandbox/sandbox.h"
#include "tests/support/openapi_exchanges.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using namespace openapi;
using nlohmann::json;

constexpr const char* kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

json purchase(const std::string& id, const std::string& customer, double amount) {
  return {{"event_id", id},
          {"event_type", "purchase"},
          {"customer_id", customer},
          {"payload", {{"amount", amount}, {"currency", "USD"}}}};
}

json reward_trigger(const std::string& name) {
  return {{"name", name},
          {"event_type", "purchase"},
          {"conditions", {{"all", {{{"field", "data.amount"}, {"op", ">"}, {"value", 50}}}}}},
          {"action", {{"type", "reward"}, {"amount", 10}, {"currency", "USD"}}}};
}

class OpenApiEventsTest : public OpenApiServersTest {
 protected:
  // Polls GET /v1/events/{id} (unrecorded) until its status is `status`.
  bool event_is(ApiClient& client, const std::string& target, const std::string& status,
                http::Headers headers = {}) {
    return eventually(
        [&] { return client.call("GET", target, "", headers).body.value("status", "") == status; });
  }
  // Polls the dead-letter queue until it holds `n`; their ids, newest first.
  std::vector<std::string> dead_letters(ApiClient& client, std::size_t n,
                                        http::Headers headers = {}) {
    json page;
    EXPECT_TRUE(eventually([&] {
      page = client.call("GET", "/v1/dead-letters", "", headers).body;
      return page.is_object() && page["data"].size() == n;
    })) << page;
    std::vector<std::string> ids;
    for (const json& letter : page.value("data", json::array()))
      ids.push_back(letter.value("id", ""));
    return ids;
  }
};

TEST_F(OpenApiEventsTest, RealResponsesOfEventsTriggersAndDeadLettersMatchTheDocument) {
  const json doc = load_document();
  ASSERT_TRUE(doc.is_object());
  Exchanges x(doc);
  ApiClient& c = *client_;
  const http::Headers text_plain = {{"Content-Type", "text/plain"}};
  const http::Headers json_body = {{"Content-Type", "application/json"}};
  const http::Headers merge_patch = {{"Content-Type", "application/merge-patch+json"}};
  ASSERT_EQ(c.post("/v1/customers", json::array({{{"id", "cus_001"}, {"phone", test_phone(1)}},
                                                 {{"id", "cus_002"}, {"phone", test_phone(2)}}}))
                .status,
            200);

  // Triggers: each action and re-eligibility, refused bodies, reads, lists.
  HttpReply created = x.post(c, "/v1/triggers", reward_trigger("$10 for purchases over $50"));
  ASSERT_EQ(created.status, 201) << created.raw;
  const std::string trigger = created.body["id"];
  const std::string t = "/v1/triggers/" + trigger;
  EXPECT_EQ(x.post(c, "/v1/triggers",
                   {{"name", "Welcome credit"},
                    {"event_type", "signup"},
                    {"re_eligibility", "once"},
                    {"description", "once per customer, ever"},
                    {"action", {{"type", "reward"}, {"amount", 5.25}, {"currency", "EUR"}}}})
                .status,
            201);
  const json conditions = {
      {"any",
       {{{"field", "data.items.0.sku"}, {"op", "in"}, {"value", {"A-1", 7, true, nullptr}}},
        {{"field", "data.coupon"}, {"op", "exists"}},
        {{"field", "data.note"}, {"op", "exists"}, {"value", false}},
        {{"all",
          {{{"field", "source"}, {"op", "contains"}, {"value", "shop"}},
           {{"field", "data.total"}, {"op", "<="}, {"value", 99.5}},
           {{"field", "data.tier"}, {"op", "!="}, {"value", "gold"}}}}}}}};
  EXPECT_EQ(x.post(c, "/v1/triggers",
                   {{"name", "Cart reminder"},
                    {"event_type", "cart_abandoned"},
                    {"conditions", conditions},
                    {"re_eligibility", {{"once_per_hours", 24}}},
                    {"window",
                     {{"starts_at", "2020-01-01T00:00:00Z"}, {"ends_at", "2100-01-01T00:00:00Z"}}},
                    {"action",
                     {{"type", "message"},
                      {"channel", "sms"},
                      {"name", "Your cart"},
                      {"template", "Hi {first_name|there}, your cart is waiting"}}}})
                .status,
            201);
  json campaign = sample_campaign("Triggered VIP");
  campaign.erase("target_user_ids");
  EXPECT_EQ(x.post(c, "/v1/triggers",
                   {{"name", "VIP"},
                    {"event_type", "vip"},
                    {"active", false},
                    {"action", {{"type", "campaign"}, {"input", campaign}}}})
                .status,
            201);
  json with_users = campaign;
  with_users["target_user_ids"] = {"u1"};
  x.post(c, "/v1/triggers",
         {{"name", "x"},
          {"event_type", "vip"},
          {"action", {{"type", "campaign"}, {"input", with_users}}}});
  x.post(c, "/v1/triggers",
         {{"name", " "},
          {"event_type", "a b"},
          {"re_eligibility", "twice"},
          {"conditions", {{"all", {{{"field", "payload.x"}, {"op", "~"}, {"value", 1}}}}}},
          {"window", {{"starts_at", "2027-01-01T00:00:00Z"}, {"ends_at", "2026-01-01T00:00:00Z"}}},
          {"action", {{"type", "message"}, {"channel", "fax"}, {"template", "Hi {nick}"}}}});
  x.post(c, "/v1/triggers",
         {{"name", "x"},
          {"event_type", "purchase"},
          {"id", "trg-1"},
          {"action", {{"type", "reward"}, {"amount", 0.001}, {"currency", "usd"}}}});
  x.post(c, "/v1/triggers", {{"name", "x"}, {"action", {{"type", "refund"}}}});
  x.call(c, "POST", "/v1/triggers", "[1]");
  x.call(c, "POST", "/v1/triggers", "trigger", text_plain);
  x.call(c, "POST", "/v1/triggers", std::string(5 << 20, ' '));  // over the 4 MiB body limit
  x.get(c, t);
  x.get(c, "/v1/triggers/trg-000000000000");
  x.get(c, "/v1/triggers");
  x.get(c, "/v1/triggers?active=true&event_type=purchase&page_size=1");
  x.get(c, "/v1/triggers?active=maybe&page_size=0&x=1");
  EXPECT_EQ(x.call(c, "PATCH", t, R"({"description": "Thanks for shopping"})", json_body).status,
            200);
  EXPECT_EQ(x.call(c, "PATCH", t, R"({"active": false, "window": null})", merge_patch).status, 200);
  EXPECT_EQ(x.call(c, "PATCH", t, R"({"active": true, "description": null})", json_body).status,
            200);
  x.call(c, "PATCH", t, R"({"name": null, "id": "x", "colour": "red"})", json_body);
  x.call(c, "PATCH", t, R"({"conditions": {"all": []}})", json_body);
  x.call(c, "PATCH", "/v1/triggers/trg-000000000000", R"({"active": false})", json_body);
  x.call(c, "PATCH", t, "[]", json_body);
  x.call(c, "PATCH", t, "active=false", text_plain);
  HttpReply versions = x.get(c, t + "/versions?page_size=2");
  EXPECT_EQ(versions.body["data"][0].value("version", 0), 4) << versions.raw;
  x.get(c, t + "/versions?cursor=" + versions.body["pagination"].value("next_cursor", ""));
  x.get(c, t + "/versions?cursor=nope");
  x.get(c, "/v1/triggers/trg-000000000000/versions");

  // Events: one, repeated, conflicting, batches in both forms, refusals.
  EXPECT_EQ(
      x.post(c, "/v1/events", purchase("evt-1", "cus_001", 75), {{"traceparent", kTraceparent}})
          .status,
      202);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(x.post(c, "/v1/events", purchase("evt-1", "cus_001", 75)).body.value("duplicates", 0),
              1);
  EXPECT_EQ(x.post(c, "/v1/events", purchase("evt-1", "cus_001", 76)).status, 409);
  const json cloud_event = {{"specversion", "1.0"},
                            {"id", "ce-1"},
                            {"source", "shop.example.com"},
                            {"type", "purchase"},
                            {"subject", "cus_002"},
                            {"time", "2026-12-01T10:00:00Z"},
                            {"datacontenttype", "application/json"},
                            {"traceparent", kTraceparent},
                            {"shopid", "s1"},
                            {"data", {{"amount", 60}, {"items", {{{"sku", "A-1"}}}}}}};
  HttpReply batch =
      x.post(c, "/v1/events",
             {{"events",
               {purchase("evt-1", "cus_001", 76), cloud_event, purchase("evt-2", "cus_001", 30)}}});
  EXPECT_EQ(batch.body.value("conflicts", 0), 1) << batch.raw;
  x.post(c, "/v1/events",
         json::array({{{"event_id", "su-1"},
                       {"type", "signup"},
                       {"subject", "cus_001"},
                       {"source", "crm"},
                       {"timestamp", "2026-12-01T09:00:00+03:00"},
                       {"payload", json::object()}},
                      {{"event_id", "su-2"},
                       {"type", "signup"},
                       {"subject", "cus_001"},
                       {"source", "crm"},
                       {"payload", json::object()}}}));
  x.post(c, "/v1/events",
         {{"event_id", "cart-1"},
          {"event_type", "cart_abandoned"},
          {"customer_id", "cus_001"},
          {"source", "shop"},
          {"payload", {{"coupon", "SAVE"}, {"items", {{{"sku", "A-1"}}}}}}});
  x.post(c, "/v1/events",
         json::array({purchase("ok-1", "cus_001", 1),
                      {{"event_id", ""},
                       {"event_type", "bad type"},
                       {"customer_id", "c d"},
                       {"payload", 5},
                       {"extra", 1}},
                      7}));
  x.post(c, "/v1/events",
         {{"id", "x"},
          {"source", "s"},
          {"type", "t"},
          {"subject", "cus_001"},
          {"specversion", "0.3"},
          {"time", "yesterday"},
          {"foo_bar", 1}});
  x.post(c, "/v1/events", {{"events", 5}});
  x.post(c, "/v1/events", json::array());
  json too_many = json::array();
  for (int i = 0; i < 1001; ++i)
    too_many.push_back(purchase("big-" + std::to_string(i), "cus_001", 1));
  x.post(c, "/v1/events", too_many);
  x.call(c, "POST", "/v1/events", "{nope");
  x.call(c, "POST", "/v1/events", "event", text_plain);
  x.post(c, "/v1/events", purchase("evt-9", "cus_009", 99));  // not a customer yet: parked
  ASSERT_TRUE(event_is(c, "/v1/events/evt-1", "processed"));
  ASSERT_TRUE(event_is(c, "/v1/events/ce-1?source=shop.example.com", "processed"));
  ASSERT_TRUE(event_is(c, "/v1/events/su-2?source=crm", "processed"));
  ASSERT_TRUE(event_is(c, "/v1/events/cart-1?source=shop", "processed"));
  ASSERT_TRUE(event_is(c, "/v1/events/evt-9", "parked"));
  x.get(c, "/v1/events/evt-1");
  x.get(c, "/v1/events/evt-2");
  x.get(c, "/v1/events/ce-1?source=shop.example.com");
  x.get(c, "/v1/events/su-2?source=crm");
  x.get(c, "/v1/events/cart-1?source=shop");
  x.get(c, "/v1/events/evt-9");
  x.get(c, "/v1/events/ce-1");
  x.get(c, "/v1/events/evt-1?sauce=x");
  x.get(c, "/v1/event-queue");
  ASSERT_EQ(c.post("/v1/customers", {{"id", "cus_009"}, {"phone", test_phone(9)}}).status, 201);
  ASSERT_TRUE(event_is(c, "/v1/events/evt-9", "processed"));
  x.get(c, "/v1/events/evt-9");

  // Dead letters: rewards refused, listed, read, previewed, replayed, discarded.
  ASSERT_EQ(sandbox_
                ->post("/sandbox/faults", {{"path_prefix", "/v1/credits"},
                                           {"status", 422},
                                           {"error", "currency not supported"}})
                .status,
            201);
  x.post(c, "/v1/events",
         json::array({purchase("evt-3", "cus_002", 80), purchase("evt-4", "cus_001", 90)}));
  const std::vector<std::string> letters = dead_letters(c, 2);
  ASSERT_EQ(letters.size(), 2u);
  ASSERT_TRUE(event_is(c, "/v1/events/evt-3", "dead_lettered"));
  x.get(c, "/v1/events/evt-3");
  x.get(c, "/v1/event-queue");
  x.get(c, "/v1/dead-letters");
  HttpReply first =
      x.get(c, "/v1/dead-letters?error_class=rejected&trigger=" + trigger + "&page_size=1");
  x.get(c, "/v1/dead-letters?cursor=" + first.body["pagination"].value("next_cursor", ""));
  x.get(c, "/v1/dead-letters?error_class=bogus&page_size=1000&cursor=zz&foo=1");
  x.get(c, "/v1/dead-letters/" + letters[0]);
  x.get(c, "/v1/dead-letters/m0.none");
  EXPECT_EQ(x.post(c, "/v1/dead-letters:replay",
                   {{"filter", {{"error_class", "rejected"}}}, {"dry_run", true}})
                .body.value("count", 0),
            2);
  x.post(c, "/v1/dead-letters:replay", {{"ids", {letters[0], "m0.none"}}, {"dry_run", true}});
  x.post(c, "/v1/dead-letters:replay",
         {{"ids", json::array()},
          {"filter", json::object()},
          {"dry_run", "yes"},
          {"max_per_second", 0},
          {"x", 1}});
  x.post(c, "/v1/dead-letters:replay", {{"filter", {{"trigger", 5}, {"error_class", "bogus"}}}});
  x.post(c, "/v1/dead-letters:replay", json::object());
  x.call(c, "POST", "/v1/dead-letters:replay", "[]");
  x.call(c, "POST", "/v1/dead-letters:replay", "ids=all", text_plain);
  ASSERT_EQ(sandbox_->call("DELETE", "/sandbox/faults").status, 200);
  EXPECT_EQ(x.post(c, "/v1/dead-letters:replay",
                   {{"ids", {letters[0], "m0.none"}}, {"max_per_second", 50}})
                .status,
            202);
  ASSERT_TRUE(eventually([&] { return c.get("/v1/dead-letters/" + letters[0]).status == 404; }));
  EXPECT_EQ(x.call(c, "DELETE", "/v1/dead-letters/" + letters[1]).status, 200);
  x.call(c, "DELETE", "/v1/dead-letters/" + letters[1]);
  x.post(c, "/v1/dead-letters:replay", {{"ids", {letters[1]}}});
  x.get(c, "/v1/dead-letters/" + letters[0]);
  x.get(c, "/v1/dead-letters");
  for (const char* event : {"/v1/events/evt-3", "/v1/events/evt-4"}) {
    ASSERT_TRUE(event_is(c, event, "processed"));
    x.get(c, event);
  }

  // With authentication on: no token, a role that may not, the operator's
  // discard audited with its token.
  ApiClient& a = *auth_client_;
  ApiClient auth_sandbox(auth_app_->sandbox()->base_url());
  const http::Headers ops = bearer(kOperator), viewer = bearer(kViewer);
  ASSERT_EQ(a.post("/v1/customers", {{"id", "cus_001"}, {"phone", test_phone(1)}}, ops).status,
            201);
  x.post(a, "/v1/triggers", reward_trigger("Stranger"));
  x.post(a, "/v1/triggers", reward_trigger("Viewer"), viewer);
  ASSERT_EQ(x.post(a, "/v1/triggers", reward_trigger("Secured"), ops).status, 201);
  const std::string secured = x.get(a, "/v1/triggers", viewer).body["data"][0]["id"];
  x.call(a, "PATCH", "/v1/triggers/" + secured, R"({"active": false})", viewer);
  x.get(a, "/v1/triggers/" + secured + "/versions", viewer);
  ASSERT_EQ(auth_sandbox.post("/sandbox/faults", {{"path_prefix", "/v1/credits"}, {"status", 422}})
                .status,
            201);
  x.post(a, "/v1/events", purchase("sec-1", "cus_001", 75));
  x.post(a, "/v1/events", purchase("sec-1", "cus_001", 75), viewer);
  EXPECT_EQ(x.post(a, "/v1/events", purchase("sec-1", "cus_001", 75), ops).status, 202);
  ASSERT_TRUE(event_is(a, "/v1/events/sec-1", "dead_lettered", viewer));
  x.get(a, "/v1/events/sec-1", viewer);
  x.get(a, "/v1/event-queue", viewer);
  const std::vector<std::string> secured_letters = dead_letters(a, 1, viewer);
  ASSERT_EQ(secured_letters.size(), 1u);
  const std::string letter = "/v1/dead-letters/" + secured_letters[0];
  x.get(a, "/v1/dead-letters");
  x.get(a, letter, bearer(kAlice));
  x.post(a, "/v1/dead-letters:replay", {{"ids", {secured_letters[0]}}}, bearer(kAlice));
  x.call(a, "DELETE", letter, "", viewer);
  HttpReply discarded = x.call(a, "DELETE", letter, "", ops);
  EXPECT_EQ(discarded.body.value("by", ""), "olga") << discarded.raw;
  EXPECT_EQ(discarded.body.value("token", ""), "ops") << discarded.raw;
  x.get(a, "/v1/events/sec-1", viewer);

  expect_covered_and_valid(doc, x, kEventTags,
                           {"POST /v1/events 400",
                            "POST /v1/events 401",
                            "POST /v1/events 403",
                            "POST /v1/events 409",
                            "POST /v1/events 413",
                            "POST /v1/events 415",
                            "POST /v1/events 422",
                            "GET /v1/events/{id} 400",
                            "GET /v1/events/{id} 404",
                            "POST /v1/triggers 400",
                            "POST /v1/triggers 403",
                            "POST /v1/triggers 413",
                            "POST /v1/triggers 415",
                            "POST /v1/triggers 422",
                            "GET /v1/triggers 400",
                            "GET /v1/triggers/{id} 404",
                            "PATCH /v1/triggers/{id} 403",
                            "PATCH /v1/triggers/{id} 404",
                            "PATCH /v1/triggers/{id} 422",
                            "GET /v1/triggers/{id}/versions 400",
                            "GET /v1/triggers/{id}/versions 404",
                            "GET /v1/dead-letters 400",
                            "GET /v1/dead-letters 401",
                            "GET /v1/dead-letters/{id} 404",
                            "POST /v1/dead-letters:replay 200",
                            "POST /v1/dead-letters:replay 403",
                            "POST /v1/dead-letters:replay 422",
                            "DELETE /v1/dead-letters/{id} 403",
                            "DELETE /v1/dead-letters/{id} 404"},
                           80);
  // A schema that no longer fits must fail on the same responses.
  json broken = doc;
  broken["components"]["schemas"]["EventMatch"]["properties"]["status"]["enum"] = {"pending"};
  auto [broken_code, broken_report] = validate(broken, x.cases(), dir_.path);
  EXPECT_EQ(broken_code, 1) << broken_report;
  EXPECT_NE(broken_report.find("GET /v1/events/evt-1 "), std::string::npos) << broken_report;
}

}  // namespace
}  // namespace orch::testing
