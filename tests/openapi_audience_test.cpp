// docs/reference/openapi.json against real responses of the user actors',
// customers', broadcasts' and webhooks' routes, success and error paths,
// with and without authentication (see openapi_test.cpp for the method).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/support/openapi_exchanges.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using namespace openapi;
using nlohmann::json;

class OpenApiAudienceTest : public OpenApiServersTest {};

TEST_F(OpenApiAudienceTest, RealResponsesOfUsersCustomersAndBroadcastsMatchTheDocument) {
  const json doc = load_document();
  ASSERT_TRUE(doc.is_object());
  Exchanges x(doc);
  ApiClient& c = *client_;
  ApiClient& a = *auth_client_;

  // The user actors: settings, state, opt-outs, eligibility, reservations.
  const std::string u = "/v1/users/ana";
  const http::Headers json_body = {{"Content-Type", "application/json"}};
  const json settings = {{"max_messages_per_day", 1},
                         {"timezone", "Europe/Lisbon"},
                         {"quiet_hours", {{"start", "23:59"}, {"end", "00:00"}}},
                         {"preferences", {{"language", "pt"}}}};
  EXPECT_EQ(x.call(c, "PUT", u, settings.dump(), json_body).status, 201);
  EXPECT_EQ(x.call(c, "PUT", u, settings.dump(), json_body).status, 200);
  EXPECT_EQ(x.call(c, "PUT", u,
                   json{{"max_messages_per_day", -1}, {"timezone", "Mars/Base"}}.dump(), json_body)
                .status,
            422);
  x.call(c, "PUT", "/v1/users/no%20spaces", "{}", json_body);
  x.get(c, u);
  x.get(c, "/v1/users/nobody");
  x.get(c, "/v1/users?page_size=10");
  x.get(c, "/v1/users?page=0");
  x.get(c, u + "/eligibility?channel=email");
  x.get(c, u + "/eligibility?channel=fax");
  const json reserve = {{"campaign_id", "c1"},
                        {"channel", "email"},
                        {"message_id", "m1"},
                        {"priority", "high"}};  // high: whatever the quiet hours
  HttpReply granted = x.post(c, u + "/reservations", reserve);
  ASSERT_EQ(granted.body.value("status", ""), "granted") << granted.raw;
  EXPECT_EQ(x.post(c, u + "/reservations", reserve).body, granted.body);
  json other = reserve;
  other["channel"] = "sms";
  EXPECT_EQ(x.post(c, u + "/reservations", other).status, 409);
  EXPECT_EQ(x.post(c, u + "/reservations",
                   {{"campaign_id", "c2"}, {"channel", "sms"}, {"message_id", "m2"}})
                .body.value("status", ""),
            "denied");
  x.get(c, u);
  const std::string rid = granted.body["reservation_id"];
  EXPECT_EQ(x.post(c, u + "/reservations/" + rid + "/commit", json::object()).status, 200);
  EXPECT_EQ(x.post(c, u + "/reservations/" + rid + "/commit", json::object()).status, 200);
  x.post(c, u + "/reservations/rsv-none/release", json::object());
  x.post(c, u + "/reservations/" + rid + "/release", {{"why", "no body"}});
  HttpReply deferred = x.post(
      c, u + "/reservations",
      {{"campaign_id", "c3"}, {"channel", "push"}, {"message_id", "m3"}, {"on_capped", "defer"}});
  ASSERT_EQ(deferred.body.value("status", ""), "deferred") << deferred.raw;
  x.get(c, u);
  x.get(c, u + "/eligibility?channel=push");
  EXPECT_EQ(
      x.post(c,
             u + "/reservations/" + deferred.body["reservation_id"].get<std::string>() + "/release",
             json::object())
          .status,
      200);
  x.post(c, u + "/reservations",
         {{"campaign_id", "c4"}, {"channel", "fax"}, {"priority", "urgent"}});
  EXPECT_EQ(x.post(c, u + "/opt-out", {{"channel", "sms"}}).status, 200);
  EXPECT_EQ(x.post(c, u + "/opt-in", {{"channel", "sms"}}).status, 200);
  x.post(c, u + "/opt-out", {{"channel", "fax"}});
  x.post(c, "/v1/users/zoe/opt-out", {{"channel", "whatsapp"}});
  x.get(c, "/v1/users");
  x.get(a, u, bearer(kViewer));
  x.call(a, "PUT", u, settings.dump(), json_body);
  x.post(a, u + "/opt-out", {{"channel", "sms"}}, bearer(kViewer));

  // Customers, broadcasts, their messages and receipts.
  const http::Headers csv = {{"Content-Type", "text/csv"}};
  EXPECT_EQ(x.post(c, "/v1/customers",
                   {{"id", "cu1"},
                    {"phone", "+254712345001"},
                    {"first_name", "Alice"},
                    {"location", "Nairobi"}})
                .status,
            201);
  x.post(c, "/v1/customers", {{"id", "cu1"}, {"phone", "+254712345001"}, {"first_name", "Al"}});
  x.post(c, "/v1/customers", {{"id", "cu2"}, {"phone", "0712"}});
  x.post(c, "/v1/customers",
         json::array(
             {{{"id", "cu2"}, {"phone", "+254712345002"}}, {{"id", "cu3"}, {"phone", "bad"}}}));
  x.call(c, "POST", "/v1/customers", "id,phone\ncu4,+254712345004\ncu5,bad\n", csv);
  x.call(c, "POST", "/v1/customers", "name\nx\n", csv);
  x.call(c, "POST", "/v1/customers", "[]", json_body);
  x.get(c, "/v1/customers/cu1");
  x.get(c, "/v1/customers/nobody");
  x.call(c, "PATCH", "/v1/customers/cu1", R"({"preferred_product":"Shoes","location":null})",
         json_body);
  x.call(c, "PATCH", "/v1/customers/cu1", R"({"phone":"1"})", json_body);
  x.get(c, "/v1/customers?page_size=2");
  x.get(c, "/v1/customers?cursor=nope");
  x.call(c, "DELETE", "/v1/customers/cu4");
  x.call(c, "DELETE", "/v1/customers/cu4");
  HttpReply bc =
      x.post(c, "/v1/broadcasts",
             {{"name", "Spring"}, {"channel", "sms"}, {"base_template", "Hi {first_name|there}!"}});
  ASSERT_EQ(bc.status, 201) << bc.raw;
  const std::string b = "/v1/broadcasts/" + bc.body["id"].get<std::string>();
  x.post(c, "/v1/broadcasts", {{"name", "x"}, {"channel", "sms"}, {"base_template", "{coupon}"}});
  x.post(c, "/v1/broadcasts",
         {{"name", "x"},
          {"channel", "sms"},
          {"base_template", "Hi"},
          {"scheduled_at", "2030-01-01T09:00:00Z"}});
  x.get(c, "/v1/broadcasts?status=draft&page=1&page_size=5");
  x.get(c, "/v1/broadcasts?status=lost");
  x.get(c, b);
  x.get(c, "/v1/broadcasts/bc-none");
  x.post(c, b + "/send", {{"customer_ids", {"cu1", "ghost"}}});
  x.post(c, b + "/send", {{"customer_ids", json::array()}});
  x.post(c, b + "/messages:retry", json::object());
  EXPECT_EQ(x.post(c, b + "/send", {{"customer_ids", {"cu1", "cu2"}}}, {{"Idempotency-Key", "s1"}})
                .status,
            202);
  x.post(c, b + "/send", {{"segment", {{"all", true}}}});
  for (int i = 0; i < 500 && client_->get(b).body.value("status", "") == "sending"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  x.get(c, b);
  HttpReply messages = x.get(c, b + "/messages?page_size=1");
  x.get(c, b + "/messages?status=sent");
  x.get(c, b + "/messages?status=lost");
  x.post(c, b + "/messages:retry", json::object());
  const std::string customer = messages.body["data"][0]["customer_id"];
  const std::string sid = messages.body["data"][0].value("gateway_message_id", "");
  const http::Headers form = {{"Content-Type", "application/x-www-form-urlencoded"}};
  const std::string receipt =
      "/v1/webhooks/twilio/status?broadcast_id=" + bc.body["id"].get<std::string>() +
      "&customer_id=" + customer;
  EXPECT_EQ(
      x.call(c, "POST", receipt, "MessageSid=" + sid + "&MessageStatus=delivered", form).status,
      200);
  x.call(c, "POST", receipt, "MessageSid=SMnot&MessageStatus=sent", form);
  x.call(c, "POST", receipt, "MessageSid=" + sid + "&MessageStatus=lost", form);
  x.call(c, "POST", "/v1/webhooks/fax/status", "MessageSid=x&MessageStatus=sent", form);

  expect_covered_and_valid(doc, x, kAudienceTags,
                           {"PUT /v1/users/{id} 422", "POST /v1/users/{id}/reservations 409",
                            "POST /v1/users/{id}/opt-out 403",
                            "POST /v1/users/{id}/reservations/{reservation_id}/release 404"},
                           50);
}

}  // namespace
}  // namespace orch::testing
