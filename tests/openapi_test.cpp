// docs/reference/openapi.json against the server: the document is OpenAPI
// 3.1 and every $ref resolves; its operations are exactly the router's table
// (ApiRoutes::table()), each really served, each with the roles the table
// demands, each in the topic of one responses test; and real responses of
// the campaign, workflow, adapter and system routes, success and error
// paths, with and without authentication, are documented (status and
// content type) and valid against their schemas, as judged by
// python3-jsonschema (tests/openapi/validate_responses.py), which also
// checks the document's examples. Request bodies the server took must fit
// the request schema, and those it refused field by field must not. The
// other topics' responses: openapi_audience_test (users, customers,
// broadcasts, webhooks), openapi_events_test (events, triggers, dead letters).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "api/routes/api_routes.h"
#include "api/server/auth.h"
#include "tests/support/openapi_exchanges.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using namespace openapi;
using nlohmann::json;

// Every "$ref" in `node`, with where it is.
void collect_refs(const json& node, const std::string& where,
                  std::vector<std::pair<std::string, std::string>>* refs) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "$ref" && value.is_string())
        refs->push_back({where, value.get<std::string>()});
      else
        collect_refs(value, where + "/" + key, refs);
    }
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i)
      collect_refs(node[i], where + "/" + std::to_string(i), refs);
  }
}

// ---------------------------------------------------------------- the document

TEST(OpenApiDocumentTest, IsOpenApi31AndEveryReferenceResolves) {
  const json doc = load_document();
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc.value("openapi", ""), "3.1.0");
  EXPECT_EQ(doc.value("jsonSchemaDialect", ""), "https://json-schema.org/draft/2020-12/schema");
  EXPECT_FALSE(doc["info"].value("title", "").empty());
  EXPECT_TRUE(doc["components"]["securitySchemes"].contains("bearerAuth"));
  std::vector<std::pair<std::string, std::string>> refs;
  collect_refs(doc, "", &refs);
  EXPECT_GT(refs.size(), 100u);
  for (const auto& [where, ref] : refs) {
    ASSERT_EQ(ref.rfind("#/", 0), 0u) << where << ": only local references: " << ref;
    EXPECT_TRUE(doc.contains(json::json_pointer(ref.substr(1)))) << where << ": " << ref;
  }
  // Every operation has an id, a tag and at least one success.
  std::set<std::string> ids;
  for (const auto& [path, item] : doc["paths"].items())
    for (const char* m : kMethods) {
      if (!item.contains(m)) continue;
      const json& op = item[m];
      EXPECT_TRUE(ids.insert(op.value("operationId", "")).second) << m << " " << path;
      EXPECT_FALSE(op.value("tags", json::array()).empty()) << m << " " << path;
      bool success = false;
      for (const auto& [status, response] : op["responses"].items()) success |= status[0] == '2';
      EXPECT_TRUE(success) << m << " " << path;
    }
}


// Each operation's first tag is the topic of exactly one responses test,
// which must see it answered 2xx; every tag the document declares is one.
TEST(OpenApiDocumentTest, EachOperationBelongsToOneResponsesTest) {
  const json doc = load_document();
  auto topics = [](const std::string& tag) {
    return kCoreTags.count(tag) + kAudienceTags.count(tag) + kEventTags.count(tag);
  };
  for (const json& tag : doc["tags"]) EXPECT_EQ(topics(tag.value("name", "")), 1u) << "tag " << tag;
  std::size_t covered = 0;
  for (const std::set<std::string>* tags : {&kCoreTags, &kAudienceTags, &kEventTags})
    covered += documented_operations(doc, *tags).size();
  EXPECT_EQ(covered, documented_operations(doc).size());
}

// ---------------------------------------------------------------- routes

TEST(OpenApiRoutesTest, TheDocumentHasExactlyTheRoutersRoutes) {
  const json doc = load_document();
  std::set<std::string> table;
  for (const api::RouteInfo& r : api::ApiRoutes::table())
    EXPECT_TRUE(table.insert(std::string(r.method) + " " + std::string(r.path)).second)
        << "repeated route " << r.method << " " << r.path;
  const std::set<std::string> documented = documented_operations(doc);
  for (const std::string& route : table)
    EXPECT_TRUE(documented.count(route)) << route << " is served but not in " << kDocumentPath;
  for (const std::string& op : documented)
    EXPECT_TRUE(table.count(op)) << op << " is in the document but not in ApiRoutes::table()";
  EXPECT_GE(table.size(), 26u);
}

// An operation's security requirement names the roles the table admits:
// none on the paths open by default, [] for "any token".
TEST(OpenApiRoutesTest, EachOperationNamesTheRolesTheRouterAdmits) {
  const json doc = load_document();
  const std::vector<std::string> open = api::AuthConfig{}.open_paths;
  const std::vector<api::Role> roles = {api::Role::viewer, api::Role::reviewer,
                                        api::Role::operator_, api::Role::admin};
  for (const api::RouteInfo& r : api::ApiRoutes::table()) {
    const std::string path(r.path);
    SCOPED_TRACE(std::string(r.method) + " " + path);
    const json& op = doc["paths"][path][lower(std::string(r.method))];
    const json security = op.contains("security") ? op["security"] : doc["security"];
    bool is_open = false;
    for (const std::string& concrete : expand(doc, path, op, "x"))
      is_open |= std::find(open.begin(), open.end(), concrete) != open.end();
    if (is_open) {
      EXPECT_EQ(security, json::array()) << "open by default: needs no token";
      for (const std::string& concrete : expand(doc, path, op, "x"))
        EXPECT_NE(std::find(open.begin(), open.end(), concrete), open.end()) << concrete;
      continue;
    }
    std::set<std::string> named;
    bool any = false;
    for (const json& requirement : security) {
      ASSERT_TRUE(requirement.contains("bearerAuth")) << security;
      const auto list = requirement["bearerAuth"].get<std::vector<std::string>>();
      any |= list.empty();
      named.insert(list.begin(), list.end());
    }
    std::set<std::string> admitted;
    for (api::Role role : roles)
      if (api::role_allows(role, r.permission) && !any) admitted.insert(api::to_string(role));
    if (any) {
      for (api::Role role : roles)
        EXPECT_TRUE(api::role_allows(role, r.permission)) << to_string(role);
    } else {
      EXPECT_EQ(named, admitted);
    }
  }
}

// Every documented operation is routed: a request to it is answered by its
// handler, not 404 "no route" or 405.
TEST(OpenApiRoutesTest, EveryDocumentedOperationIsServed) {
  TempDir dir;
  api::OrchestratorApp app(test_config(dir.path));
  ASSERT_EQ(app.start(), "");
  ApiClient client(app.base_url());
  const json doc = load_document();
  std::size_t tried = 0;
  for (const auto& [path, item] : doc["paths"].items())
    for (const char* m : kMethods) {
      if (!item.contains(m)) continue;
      for (const std::string& target : expand(doc, path, item[m], "no-such-id")) {
        SCOPED_TRACE(upper(m) + " " + target);
        HttpReply r = client.call(upper(m), target, upper(m) == "GET" ? "" : "{}",
                                  {{"Content-Type", "application/json"}});
        EXPECT_NE(r.status, 405) << r.raw;
        EXPECT_FALSE(r.status == 404 && r.body.is_object() &&
                     r.body.value("detail", "").rfind("no route", 0) == 0)
            << r.raw;
        ++tried;
      }
    }
  EXPECT_GE(tried, 28u);
}

// ---------------------------------------------------------------- responses

class OpenApiResponsesTest : public OpenApiServersTest {};

TEST_F(OpenApiResponsesTest, RealResponsesOfEveryRouteMatchTheDocument) {
  const json doc = load_document();
  ASSERT_TRUE(doc.is_object());
  Exchanges x(doc);
  ApiClient& c = *client_;
  const http::Headers text_plain = {{"Content-Type", "text/plain"}};

  // System and documentation.
  for (const char* target :
       {"/health", "/ready", "/metrics", "/openapi.json", "/docs", "/docs/swagger-ui-bundle.js",
        "/docs/swagger-ui.css", "/docs/docs-init.js", "/docs/nope.js"})
    x.get(c, target);
  EXPECT_TRUE(x.get(c, "/openapi.json").raw == read_file(kDocumentPath))
      << "GET /openapi.json is not " << kDocumentPath << " (the build embeds it)";

  // Adapters.
  x.get(c, "/v1/adapters");
  x.post(c, "/v1/adapters/sendgrid/breaker", {{"state", "forced_open"}});
  x.post(c, "/v1/adapters/sendgrid/breaker", {{"state", "closed"}});
  x.post(c, "/v1/adapters/sendgrid/breaker", {{"state", "shut"}});
  x.post(c, "/v1/adapters/sendgrid/breaker", {{"state", "closed"}, {"why", "test"}});
  x.post(c, "/v1/adapters/fax/breaker", {{"state", "closed"}});
  x.call(c, "POST", "/v1/adapters/sendgrid/breaker", "{not json");
  x.call(c, "POST", "/v1/adapters/sendgrid/breaker", "state=closed", text_plain);

  // Starting campaigns: created, repeated, conflicting, refused.
  json input = sample_campaign("OpenAPI one");
  input["reviewers"] = {"alice", "bob"};
  input["approval_policy"] = {
      {"levels", {{{"name", "marketing"}, {"reviewers", {"alice", "bob"}}, {"quorum", 2}}}},
      {"forbid_self_approval", false}};
  input["audience_size"] = 1200;
  input["schedule_time"] = "2020-01-01T00:00:00Z";
  input["approval_timeout_seconds"] = 3600;
  input["escalation_reviewers"] = {"eve"};
  input["brand_voice_id"] = "house";
  input["templates"] = {"spring"};
  input["metrics"] = {"clicks"};
  const http::Headers key = {{"Idempotency-Key", "openapi-start-1"}};
  HttpReply started = x.post(c, "/v1/campaigns", input, key);
  ASSERT_EQ(started.status, 201) << started.raw;
  const std::string id = started.body["workflow_id"];
  const std::string wf = "/v1/workflows/" + id;
  EXPECT_EQ(x.post(c, "/v1/campaigns", input, key).status, 200);
  EXPECT_EQ(x.post(c, "/v1/campaigns", sample_campaign("Other"), key).status, 409);
  json with_id = sample_campaign("Chosen id");
  with_id["workflow_id"] = "openapi-chosen-1";
  EXPECT_EQ(x.post(c, "/v1/campaigns", with_id).status, 201);
  with_id["tone"] = "casual";
  EXPECT_EQ(x.post(c, "/v1/campaigns", with_id).status, 409);
  x.post(c, "/v1/campaigns", sample_campaign("Bad key"), {{"Idempotency-Key", "has space"}});
  x.call(c, "POST", "/v1/campaigns", "[1, 2]");
  x.call(c, "POST", "/v1/campaigns", "campaign", text_plain);
  x.call(c, "POST", "/v1/campaigns", std::string(5 << 20, ' '));  // over the 4 MiB body limit
  // Refused inputs: each breaks one rule of the CampaignInput schema.
  const std::vector<std::pair<std::string, json>> breaks = {
      {"/tone", "shouty"},
      {"/channels", json::array()},
      {"/channels", {"email", "fax"}},
      {"/channels", {"email", "email"}},
      {"/campaign_name", "   "},
      {"/campaign_name", std::string(201, 'n')},
      {"/competitor_urls", {"ftp://example.com"}},
      {"/research_sources", {"rumour"}},
      {"/reviewers", json::array()},
      {"/schedule_time", "tomorrow"},
      {"/workflow_id", "-starts-with-dash"},
      {"/approval_timeout_seconds", 0},
      {"/audience_size", -1},
      {"/approval_policy", {{"levels", json::array()}}},
      {"/approval_policy", {{"levels", {{{"name", "a"}, {"reviewers", {"x"}}, {"quorum", 0}}}}}},
      {"/approval_policy", {{"levels", {{{"name", "a"}, {"reviewers", {"x"}}}}}, {"extra", 1}}},
      {"/colour", "red"},
      {"/target_user_ids", json::array()},
      {"/target_user_ids", {"u-1", "u-1"}},
      {"/target_user_ids", {"has space"}},
      {"/audience", json::object()},
      {"/audience", {{"customer_ids", json::array()}}},
      {"/audience", {{"customer_ids", {"c-1", "c-1"}}}},
      {"/audience", {{"segment", {{"all", false}}}}},
      {"/audience", {{"segment", {{"location", ""}}}}},
      {"/audience", {{"customer_ids", {"c-1"}}, {"segment", {{"all", true}}}}},
  };
  for (const auto& [at, value] : breaks) {
    json bad = sample_campaign("Refused");
    bad[json::json_pointer(at)] = value;
    EXPECT_EQ(x.post(c, "/v1/campaigns", bad).status, 422) << at << " " << value;
  }
  json missing = sample_campaign("Refused");
  missing.erase("target_audience");
  EXPECT_EQ(x.post(c, "/v1/campaigns", missing).status, 422);
  // An audience: customer ids or a segment, sent to on sms and whatsapp.
  for (const json& audience : {json{{"customer_ids", {"c-1", "c-2"}}},
                               json{{"segment", {{"location", "Nairobi"}}}},
                               json{{"segment", {{"all", true}}}}}) {
    json to_audience = sample_campaign("To an audience");
    to_audience["channels"] = {"sms", "whatsapp"};
    to_audience["audience"] = audience;
    EXPECT_EQ(x.post(c, "/v1/campaigns", to_audience).status, 201) << audience;
  }

  // Wizards.
  HttpReply draft = x.post(c, "/v1/wizards", sample_campaign("OpenAPI draft"));
  ASSERT_EQ(draft.status, 201) << draft.raw;
  const std::string approve_draft =
      "/v1/wizards/" + draft.body["wizard_id"].get<std::string>() + "/approve";
  EXPECT_EQ(x.call(c, "POST", approve_draft).status, 201);
  EXPECT_EQ(x.post(c, approve_draft, json::object()).status, 201);
  x.post(c, approve_draft, {{"now", true}});
  x.call(c, "POST", "/v1/wizards/wiz-unknown/approve");
  x.post(c, "/v1/wizards", {{"campaign_name", "half"}});
  x.call(c, "POST", "/v1/wizards", "");

  // Reads, while it waits for review.
  wait_for(x, id, "awaiting_approval");
  x.get(c, wf);
  x.get(c, wf + "/progress");
  x.get(c, wf + "/progress?wait_for=bogus");
  x.get(c, wf + "/progress?wait_for=completed&wait_ms=0");
  x.get(c, wf + "/progress?wait_for=completed,failed&wait_ms=1");
  x.get(c, wf + "/history?page_size=5");
  x.get(c, wf + "/history?page=2&page_size=5");
  HttpReply page = x.get(c, wf + "/history?cursor=3&page_size=4");
  EXPECT_TRUE(page.body["pagination"].contains("next_cursor")) << page.raw;
  x.get(c, wf + "/history?cursor=3&page=1");
  x.get(c, wf + "/history?sort=asc");
  x.get(c, wf + "/approvals");
  x.get(c, "/v1/workflows");
  x.get(c, "/v1/workflows?status=awaiting_approval&phase=review&page=1&page_size=5");
  x.get(c, "/v1/workflows?status=corrupt");
  x.get(c, "/v1/workflows?page_size=500");
  for (const char* suffix : {"", "/progress", "/history", "/approvals"})
    x.get(c, std::string("/v1/workflows/no-such-workflow") + suffix);

  // Content edits, then the two-reviewer chain with idempotency keys.
  x.post(c, wf + "/signals/update_content",
         {{"content_id", "headline"}, {"new_content", "Spring"}});
  x.post(c, wf + "/signals/update_content", {{"content_id", "footer"}, {"new_content", "x"}});
  x.post(c, wf + "/signals/update_content",
         {{"content_id", "email_body"}, {"new_content", std::string(20'000, '\x01')}});
  x.post(c, wf + "/updates/update_content", {{"content_id", "tagline"}, {"new_content", "Now"}});
  x.post(c, wf + "/updates/update_content", {{"content_id", "tagline"}});
  x.call(c, "POST", wf + "/signals/approve", "{", {});
  x.call(c, "POST", wf + "/signals/approve", "ok", text_plain);
  x.call(c, "POST", wf + "/updates/approve", "{", {});
  x.post(c, wf + "/signals/approve", {{"comment", "no reviewer"}}, {},
         Exchanges::RequestCheck::none);
  x.post(c, wf + "/signals/approve", {{"reviewer", "mallory"}});
  x.post(c, wf + "/updates/approve", {{"reviewer", "mallory"}});
  const http::Headers signal_key = {{"Idempotency-Key", "alice-approves"}};
  EXPECT_EQ(
      x.post(c, wf + "/signals/approve", {{"reviewer", "alice"}, {"comment", "ok"}}, signal_key)
          .status,
      202);
  EXPECT_EQ(
      x.post(c, wf + "/signals/approve", {{"reviewer", "alice"}, {"comment", "ok"}}, signal_key)
          .status,
      202);
  EXPECT_EQ(x.post(c, wf + "/signals/approve", {{"reviewer", "bob"}}, signal_key).status, 409);
  x.post(c, wf + "/signals/approve", {{"reviewer", "alice"}}, {{"Idempotency-Key", "a b"}});
  EXPECT_EQ(x.post(c, wf + "/updates/approve", {{"reviewer", "alice"}}).status, 409);
  EXPECT_EQ(x.post(c, wf + "/updates/approve", {{"reviewer", "bob"}, {"comment", "ship"}}).status,
            200);
  wait_for(x, id, "completed");
  x.get(c, wf);
  x.get(c, wf + "/approvals");
  x.get(c, wf + "/history?page_size=1000");
  x.post(c, wf + "/updates/approve", {{"reviewer", "bob"}});
  x.post(c, wf + "/updates/reject", {{"reviewer", "bob"}, {"reason", "late"}});
  x.post(c, wf + "/updates/update_content", {{"content_id", "tagline"}, {"new_content", "Late"}});
  x.post(c, wf + "/signals/update_content", {{"content_id", "tagline"}, {"new_content", "Late"}});
  x.post(c, wf + "/signals/reject", {{"reviewer", "bob"}, {"reason", "late"}});
  for (const char* command : {"/cancel", "/pause", "/resume", "/retry"})
    x.call(c, "POST", wf + command);

  // Pause, resume, cancel; rejections by signal and by update.
  const std::string held =
      "/v1/workflows/" +
      x.post(c, "/v1/campaigns", sample_campaign("Held")).body["workflow_id"].get<std::string>();
  const std::string rejected =
      "/v1/workflows/" + x.post(c, "/v1/campaigns", sample_campaign("Rejected"))
                             .body["workflow_id"]
                             .get<std::string>();
  const std::string refused =
      "/v1/workflows/" +
      x.post(c, "/v1/campaigns", sample_campaign("Refused")).body["workflow_id"].get<std::string>();
  EXPECT_EQ(x.post(c, held + "/pause", {{"reason", "legal hold"}}).status, 202);
  x.post(c, held + "/pause", json::object());
  x.post(c, held + "/pause", {{"reason", 7}});
  x.call(c, "POST", held + "/pause", "hold", text_plain);
  x.call(c, "POST", held + "/pause", "[]");
  x.get(c, held);
  EXPECT_EQ(x.call(c, "POST", held + "/resume").status, 202);
  x.post(c, held + "/retry", {{"reason", "not paused"}});
  EXPECT_EQ(x.post(c, held + "/cancel", {{"reason", "budget"}}).status, 202);
  x.post(c, held + "/cancel", json::object());
  wait_for(x, held.substr(held.rfind('/') + 1), "cancelled");
  x.get(c, held);
  for (const char* command : {"/cancel", "/pause", "/resume", "/retry"})
    x.call(c, "POST", "/v1/workflows/no-such-workflow" + std::string(command));
  x.post(c, "/v1/workflows/no-such-workflow/signals/reject",
         {{"reviewer", "alice"}, {"reason", "x"}});
  x.post(c, "/v1/workflows/no-such-workflow/updates/reject",
         {{"reviewer", "alice"}, {"reason", "x"}});
  wait_for(x, rejected.substr(rejected.rfind('/') + 1), "awaiting_approval");
  wait_for(x, refused.substr(refused.rfind('/') + 1), "awaiting_approval");
  x.post(c, rejected + "/signals/reject", {{"reviewer", "alice"}});
  EXPECT_EQ(
      x.post(c, rejected + "/signals/reject", {{"reviewer", "alice"}, {"reason", "off-brand"}})
          .status,
      202);
  EXPECT_EQ(x.post(c, refused + "/updates/reject", {{"reviewer", "bob"}, {"reason", "no"}}).status,
            200);
  wait_for(x, rejected.substr(rejected.rfind('/') + 1), "failed");
  x.get(c, rejected);
  x.get(c, rejected + "/approvals");

  // A campaign to users one by one: the views carry their delivery.
  json to_users = sample_campaign("OpenAPI users");
  to_users["channels"] = {"sms", "push"};
  to_users["target_user_ids"] = {"openapi-user-1", "openapi-user-2"};
  x.post(c, "/v1/users/openapi-user-2/opt-out", {{"channel", "sms"}});
  const std::string users_id = x.post(c, "/v1/campaigns", to_users).body["workflow_id"];
  wait_for(x, users_id, "awaiting_approval");
  x.get(c, "/v1/workflows/" + users_id + "/progress");
  x.post(c, "/v1/workflows/" + users_id + "/signals/approve", {{"reviewer", "alice"}});
  wait_for(x, users_id, "completed");
  HttpReply users_view = x.get(c, "/v1/workflows/" + users_id);
  EXPECT_EQ(users_view.body["users_sent"], 3) << users_view.raw;
  EXPECT_EQ(users_view.body["users_skipped"], 1) << users_view.raw;
  x.get(c, "/v1/workflows/" + users_id + "/progress");
  x.get(c, "/v1/workflows/" + users_id + "/progress?wait_for=completed&wait_ms=10");

  // A step that exhausts its attempts pauses the workflow; retry redrives it.
  ASSERT_EQ(
      sandbox_->post("/sandbox/faults", {{"path_prefix", "/v3/mail/send"}, {"status", 400}}).status,
      201);
  const std::string stuck_id =
      x.post(c, "/v1/campaigns", sample_campaign("Stuck")).body["workflow_id"];
  x.post(c, "/v1/workflows/" + stuck_id + "/signals/approve", {{"reviewer", "alice"}});
  wait_for(x, stuck_id, "paused");
  x.get(c, "/v1/workflows/" + stuck_id);
  x.get(c, "/v1/adapters");
  ASSERT_EQ(sandbox_->call("DELETE", "/sandbox/faults").status, 200);
  EXPECT_EQ(x.post(c, "/v1/workflows/" + stuck_id + "/retry", {{"reason", "fixed"}}).status, 202);
  wait_for(x, stuck_id, "completed");

  // With authentication on: no token, a role that may not, another identity;
  // the documentation open without a token, and operations with one.
  ApiClient& a = *auth_client_;
  for (const char* target : {"/openapi.json", "/docs", "/docs/swagger-ui-bundle.js",
                             "/docs/swagger-ui.css", "/docs/docs-init.js", "/health"})
    EXPECT_EQ(x.get(a, target).status, 200) << target;
  x.get(a, "/v1/workflows");
  x.get(a, "/v1/workflows", {{"Authorization", "Basic abc"}});
  x.get(a, "/v1/workflows", bearer("nobody"));
  x.get(a, "/v1/workflows", bearer(kViewer));
  x.post(a, "/v1/campaigns", sample_campaign("Stranger"));
  x.post(a, "/v1/campaigns", sample_campaign("Viewer"), bearer(kViewer));
  json impostor = sample_campaign("Impostor");
  impostor["submitted_by"] = "alice";
  x.post(a, "/v1/campaigns", impostor, bearer(kOperator));
  HttpReply secured = x.post(a, "/v1/campaigns", sample_campaign("Secured"), bearer(kOperator));
  ASSERT_EQ(secured.status, 201) << secured.raw;
  const std::string sw = "/v1/workflows/" + secured.body["workflow_id"].get<std::string>();
  x.post(a, "/v1/wizards", sample_campaign("Secured draft"), bearer(kOperator));
  x.post(a, "/v1/adapters/sendgrid/breaker", {{"state", "closed"}}, bearer(kOperator));
  x.post(a, sw + "/cancel", json::object(), bearer(kAlice));
  x.post(a, sw + "/signals/approve", {{"reviewer", "bob"}}, bearer(kAlice));
  x.post(a, sw + "/updates/approve", {{"comment", "early"}}, bearer(kOperator));
  ASSERT_EQ(x.get(a, sw + "/progress?wait_for=awaiting_approval&wait_ms=20000", bearer(kViewer))
                .body.value("status", ""),
            "awaiting_approval");
  x.post(a, sw + "/updates/approve", {{"comment", "fine"}}, bearer(kAlice));
  x.get(a, sw + "/approvals", bearer(kViewer));

  // Every operation of these topics succeeded at least once; the schemas
  // judge every response and request body, then a document with one schema
  // broken must fail on the same responses.
  expect_covered_and_valid(
      doc, x, kCoreTags,
      {"POST /v1/campaigns 400", "POST /v1/campaigns 401", "POST /v1/campaigns 403",
       "POST /v1/campaigns 409", "POST /v1/campaigns 413", "POST /v1/campaigns 415",
       "POST /v1/campaigns 422", "GET /v1/workflows/{id} 404",
       "POST /v1/workflows/{id}/signals/approve 409",
       "POST /v1/workflows/{id}/signals/update_content 413",
       "POST /v1/workflows/{id}/updates/approve 403"},
      150);
  json broken = doc;
  broken["components"]["schemas"]["Progress"]["properties"]["progress_percentage"]["maximum"] = 50;
  auto [broken_code, broken_report] = validate(broken, x.cases(), dir_.path);
  EXPECT_EQ(broken_code, 1) << broken_report;
  EXPECT_NE(broken_report.find("GET " + wf + "/progress"), std::string::npos) << broken_report;
}

}  // namespace
}  // namespace orch::testing
