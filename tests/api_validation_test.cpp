// The REST API's input validation against a real server over real HTTP: every
// endpoint's bad input gets an RFC 7807 problem with the right status and
// changes nothing; idempotent starts; wizards; list pagination and filters;
// the server surviving malformed raw HTTP.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using nlohmann::json;

class ApiValidationTest : public AppTest {
 protected:
  ApiClient& c() { return *client_; }

  std::size_t workflow_count() {
    HttpReply r = c().get("/v1/workflows");
    EXPECT_EQ(r.status, 200) << r.raw;
    if (!r.body.is_object() || !r.body.contains("pagination")) return 0;
    return r.body["pagination"].value("total_count", std::size_t{0});
  }

  std::size_t history_count(const std::string& id) {
    HttpReply r = c().get("/v1/workflows/" + id + "/history");
    EXPECT_EQ(r.status, 200) << r.raw;
    if (!r.body.is_object() || !r.body.contains("pagination")) return 0;
    return r.body["pagination"].value("total_count", std::size_t{0});
  }

  // Waits until GET /v1/workflows/{id}/history stops growing (the workflow is
  // parked), so that later comparisons only see what a request changed.
  std::size_t settled_history(const std::string& id) {
    std::size_t last = history_count(id);
    for (int i = 0; i < 50; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      std::size_t now = history_count(id);
      if (now == last) return now;
      last = now;
    }
    return last;
  }
};

// Checks an RFC 7807 reply with the given status.
void expect_problem(const HttpReply& r, int status, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(r.status, status) << r.raw;
  auto ct = http::find_header(r.headers, "Content-Type");
  ASSERT_TRUE(ct.has_value()) << "no Content-Type; body " << r.raw;
  EXPECT_EQ(std::string(*ct).rfind("application/problem+json", 0), 0u) << *ct;
  ASSERT_TRUE(r.body.is_object()) << r.raw;
  EXPECT_TRUE(r.body.contains("type") && r.body["type"].is_string()) << r.raw;
  EXPECT_TRUE(r.body.contains("title") && r.body["title"].is_string()) << r.raw;
  EXPECT_TRUE(r.body.contains("detail") && r.body["detail"].is_string()) << r.raw;
  ASSERT_TRUE(r.body.contains("status") && r.body["status"].is_number_integer()) << r.raw;
  EXPECT_EQ(r.body["status"].get<int>(), status) << r.raw;
}

bool errors_name(const HttpReply& r, const std::string& field) {
  if (!r.body.is_object() || !r.body.contains("errors") || !r.body["errors"].is_array())
    return false;
  for (const json& e : r.body["errors"])
    if (e.is_object() && e.value("field", "").find(field) != std::string::npos) return true;
  return false;
}

// ---------------------------------------------------------------- campaigns

TEST_F(ApiValidationTest, StartCampaignRejectsMalformedBodies) {
  const std::size_t before = workflow_count();
  struct Case {
    const char* name;
    std::string body;
  };
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  std::string deep_obj = "{\"a\":";
  for (int i = 0; i < 40; ++i) deep_obj += "{\"b\":";
  deep_obj += "1";
  for (int i = 0; i < 41; ++i) deep_obj += "}";
  const std::vector<Case> cases = {
      {"malformed json", "{\"campaign_name\": "},
      {"trailing garbage", "{} x"},
      {"array", "[1,2,3]"},
      {"string", "\"hello\""},
      {"number", "42"},
      {"null", "null"},
      {"empty", ""},
      {"whitespace", "   \n"},
      {"nested array > 32", deep},
      {"nested object > 32", deep_obj},
  };
  for (const Case& k : cases) {
    HttpReply r = c().call("POST", "/v1/campaigns", k.body, {{"Content-Type", "application/json"}});
    expect_problem(r, 400, k.name);
  }
  EXPECT_EQ(workflow_count(), before);
}

TEST_F(ApiValidationTest, StartCampaignRejectsWrongContentType) {
  const std::size_t before = workflow_count();
  HttpReply r = c().call("POST", "/v1/campaigns", sample_campaign().dump(),
                         {{"Content-Type", "text/plain"}});
  expect_problem(r, 415, "text/plain");
  EXPECT_EQ(workflow_count(), before);
}

TEST_F(ApiValidationTest, StartCampaignRejectsInvalidFieldsWith422) {
  const std::size_t before = workflow_count();
  struct Case {
    const char* name;
    const char* field;
    json input;
  };
  auto with = [](const char* key, json value) {
    json in = sample_campaign();
    in[key] = std::move(value);
    return in;
  };
  json missing_name = sample_campaign();
  missing_name.erase("campaign_name");
  const std::vector<Case> cases = {
      {"unknown field", "surprise", with("surprise", 1)},
      {"missing campaign_name", "campaign_name", missing_name},
      {"channels not array", "channels", with("channels", "email")},
      {"tone number", "tone", with("tone", 3)},
      {"empty campaign_name", "campaign_name", with("campaign_name", "")},
      {"blank campaign_name", "campaign_name", with("campaign_name", "   ")},
      {"channel not allowed", "channels", with("channels", {"email", "fax"})},
      {"duplicate channel", "channels", with("channels", {"email", "email"})},
      {"empty channels", "channels", with("channels", json::array())},
      {"empty reviewers", "reviewers", with("reviewers", json::array())},
      {"ftp competitor url", "competitor_urls", with("competitor_urls", {"ftp://x"})},
      {"not a url", "competitor_urls", with("competitor_urls", {"not a url"})},
      {"bad tone", "tone", with("tone", "angry")},
      {"bad schedule_time", "schedule_time", with("schedule_time", "tomorrow at nine")},
      {"bad schedule_time month", "schedule_time", with("schedule_time", "2026-13-01T09:00:00Z")},
      // Offsets of 24 h or more were accepted and then ignored: the campaign
      // started at once.
      {"schedule_time offset +24:00", "schedule_time",
       with("schedule_time", "2027-06-01T09:00:00+24:00")},
      {"schedule_time offset -99:30", "schedule_time",
       with("schedule_time", "2027-06-01T09:00:00-99:30")},
      {"schedule_time February 30", "schedule_time", with("schedule_time", "2027-02-30T09:00:00Z")},
      {"workflow_id with colon", "workflow_id", with("workflow_id", "a:b")},
      {"workflow_id leading dash", "workflow_id", with("workflow_id", "-x")},
      {"workflow_id 200 chars", "workflow_id", with("workflow_id", std::string(200, 'a'))},
      {"research source not allowed", "research_sources", with("research_sources", {"tarot"})},
  };
  for (const Case& k : cases) {
    HttpReply r = c().post("/v1/campaigns", k.input);
    expect_problem(r, 422, k.name);
    EXPECT_TRUE(errors_name(r, k.field)) << k.name << ": errors do not name " << k.field << ": "
                                         << r.raw;
  }
  EXPECT_EQ(workflow_count(), before);
}

TEST_F(ApiValidationTest, StartCampaignRejectsOversizedBodyWith413) {
  const std::size_t before = workflow_count();
  json in = sample_campaign();
  in["target_audience"] = std::string((4u << 20) + 1024, 'a');  // over the 4 MiB body limit
  HttpReply r = c().post("/v1/campaigns", in);
  expect_problem(r, 413, "oversized body");
  EXPECT_EQ(workflow_count(), before);
}

TEST_F(ApiValidationTest, StartCampaignRejectsBadIdempotencyKey) {
  const std::size_t before = workflow_count();
  HttpReply r = c().post("/v1/campaigns", sample_campaign(),
                         {{"Idempotency-Key", std::string(300, 'k')}});
  expect_problem(r, 400, "300-char Idempotency-Key");
  EXPECT_EQ(workflow_count(), before);
}

// ---------------------------------------------------------------- signals

TEST_F(ApiValidationTest, SignalsRejectBadInput) {
  const std::size_t wf_before = workflow_count();
  // Unknown workflow.
  expect_problem(c().post("/v1/workflows/nope/signals/approve", {{"reviewer", "alice"}}), 404,
                 "unknown workflow approve");
  expect_problem(
      c().post("/v1/workflows/nope/signals/reject", {{"reviewer", "alice"}, {"reason", "x"}}), 404,
      "unknown workflow reject");
  expect_problem(c().post("/v1/workflows/nope/signals/update_content",
                          {{"content_id", "headline"}, {"new_content", "x"}}),
                 404, "unknown workflow update_content");
  EXPECT_EQ(workflow_count(), wf_before);

  const std::string id = start(sample_campaign());
  json state = c().wait_for_status(id, "awaiting_approval");
  ASSERT_EQ(state.value("status", ""), "awaiting_approval");
  const std::size_t wf = workflow_count();
  const std::size_t hist = settled_history(id);
  const std::string base = "/v1/workflows/" + id + "/signals/";

  struct Case {
    const char* name;
    std::string signal;
    std::string body;
    int status;
  };
  const std::vector<Case> cases = {
      {"unknown signal", "bogus", R"({"reviewer":"alice"})", 404},
      {"approve missing reviewer", "approve", R"({"comment":"ok"})", 422},
      {"approve empty reviewer", "approve", R"({"reviewer":""})", 422},
      {"approve unknown field", "approve", R"({"reviewer":"alice","extra":1})", 422},
      {"approve non-string comment", "approve", R"({"reviewer":"alice","comment":5})", 422},
      {"approve non-string reviewer", "approve", R"({"reviewer":["alice"]})", 422},
      {"approve malformed json", "approve", R"({"reviewer":)", 400},
      {"approve array body", "approve", R"(["alice"])", 400},
      {"approve empty body", "approve", "", 400},
      {"approve reviewer not allowed", "approve", R"({"reviewer":"mallory"})", 403},
      {"reject missing reason", "reject", R"({"reviewer":"alice"})", 422},
      {"reject missing reviewer", "reject", R"({"reason":"no"})", 422},
      {"reject unknown field", "reject", R"({"reviewer":"alice","reason":"no","x":true})", 422},
      {"reject malformed json", "reject", "{,}", 400},
      {"reject reviewer not allowed", "reject", R"({"reviewer":"mallory","reason":"no"})", 403},
      {"update_content bad content_id", "update_content",
       R"({"content_id":"footer","new_content":"x"})", 422},
      {"update_content missing new_content", "update_content", R"({"content_id":"headline"})",
       422},
      {"update_content non-string new_content", "update_content",
       R"({"content_id":"headline","new_content":1})", 422},
      {"update_content unknown field", "update_content",
       R"({"content_id":"headline","new_content":"x","y":1})", 422},
      {"update_content malformed json", "update_content", "nope", 400},
  };
  for (const Case& k : cases) {
    HttpReply r = c().call("POST", base + k.signal, k.body, {{"Content-Type", "application/json"}});
    expect_problem(r, k.status, k.name);
  }
  EXPECT_EQ(history_count(id), hist) << "a rejected signal changed the journal";
  EXPECT_EQ(workflow_count(), wf);
  state = c().get("/v1/workflows/" + id).body;
  EXPECT_EQ(state.value("status", ""), "awaiting_approval");

  // Every allowed content_id is accepted.
  for (const char* cid :
       {"headline", "tagline", "email_subject", "email_body", "social_post", "blog_outline"}) {
    HttpReply r = c().post(base + "update_content", {{"content_id", cid}, {"new_content", "new"}});
    EXPECT_EQ(r.status, 202) << cid << ": " << r.raw;
    EXPECT_EQ(r.body.value("status", ""), "content_updated") << cid;
  }
}

// ---------------------------------------------------------------- updates

TEST_F(ApiValidationTest, UpdateApproveValidatesStateBodyAndReviewer) {
  expect_problem(c().post("/v1/workflows/nope/updates/approve", {{"reviewer", "alice"}}), 404,
                 "unknown workflow");

  // A workflow that is no longer awaiting approval (cancelled) -> 409.
  const std::string done = start(sample_campaign("Finished"));
  c().wait_for_status(done, "awaiting_approval");
  HttpReply cancel = c().call("POST", "/v1/workflows/" + done + "/cancel");
  EXPECT_EQ(cancel.status, 202) << cancel.raw;
  c().wait_for_status(done, "cancelled");
  {
    const std::size_t hist = settled_history(done);
    expect_problem(c().post("/v1/workflows/" + done + "/updates/approve", {{"reviewer", "alice"}}),
                   409, "cancelled workflow");
    EXPECT_EQ(history_count(done), hist);
  }

  const std::string id = start(sample_campaign());
  json state = c().wait_for_status(id, "awaiting_approval");
  ASSERT_EQ(state.value("status", ""), "awaiting_approval");
  const std::size_t hist = settled_history(id);
  const std::string target = "/v1/workflows/" + id + "/updates/approve";
  struct Case {
    const char* name;
    std::string body;
    int status;
  };
  const std::vector<Case> cases = {
      {"missing reviewer", R"({"comment":"ok"})", 422},
      {"unknown field", R"({"reviewer":"alice","x":1})", 422},
      {"non-string comment", R"({"reviewer":"alice","comment":false})", 422},
      {"malformed json", R"({"reviewer")", 422},
      {"array body", "[]", 422},
      {"reviewer not allowed", R"({"reviewer":"mallory"})", 403},
  };
  for (const Case& k : cases) {
    HttpReply r = c().call("POST", target, k.body, {{"Content-Type", "application/json"}});
    expect_problem(r, k.status, k.name);
  }
  expect_problem(c().post("/v1/workflows/" + id + "/updates/bogus", {{"reviewer", "alice"}}), 404,
                 "unknown update");
  EXPECT_EQ(history_count(id), hist) << "a rejected update changed the journal";

  HttpReply ok = c().post(target, {{"reviewer", "alice"}, {"comment", "lgtm"}});
  ASSERT_EQ(ok.status, 200) << ok.raw;
  EXPECT_EQ(ok.body.value("workflow_id", ""), id);
  bool approved_listed = false;
  if (ok.body.contains("approvals") && ok.body["approvals"].is_array())
    for (const json& a : ok.body["approvals"])
      if (a.dump().find("alice") != std::string::npos) approved_listed = true;
  EXPECT_TRUE(ok.body.value("status", "") != "awaiting_approval" || approved_listed) << ok.raw;
  EXPECT_GT(history_count(id), hist);
}

// ---------------------------------------------------------------- cancel

TEST_F(ApiValidationTest, CancelValidates) {
  expect_problem(c().call("POST", "/v1/workflows/nope/cancel"), 404, "unknown workflow");
  const std::string id = start(sample_campaign());
  c().wait_for_status(id, "awaiting_approval");
  const std::size_t hist = settled_history(id);
  expect_problem(c().post("/v1/workflows/" + id + "/cancel", {{"why", "x"}}), 422,
                 "unknown field");
  expect_problem(c().post("/v1/workflows/" + id + "/cancel", {{"reason", 1}}), 422,
                 "non-string reason");
  expect_problem(c().call("POST", "/v1/workflows/" + id + "/cancel", "{oops",
                          {{"Content-Type", "application/json"}}),
                 400, "malformed json");
  EXPECT_EQ(history_count(id), hist);
  EXPECT_EQ(c().get("/v1/workflows/" + id).body.value("status", ""), "awaiting_approval");

  HttpReply first = c().post("/v1/workflows/" + id + "/cancel", {{"reason", "changed plans"}});
  EXPECT_EQ(first.status, 202) << first.raw;
  c().wait_for_status(id, "cancelled");
  expect_problem(c().call("POST", "/v1/workflows/" + id + "/cancel"), 409, "second cancel");
}

// ---------------------------------------------------------------- reads

TEST_F(ApiValidationTest, ListAndReadRejectBadQueriesAndUnknownIds) {
  for (const char* q : {"page=0", "page=abc", "page=", "page=-1", "page_size=101",
                        "page_size=0", "status=bogus", "phase=bogus", "colour=red",
                        "page=1&sort=asc"}) {
    expect_problem(c().get(std::string("/v1/workflows?") + q), 400, q);
  }
  HttpReply ok = c().get("/v1/workflows?page_size=100&status=running&phase=research");
  EXPECT_EQ(ok.status, 200) << ok.raw;

  expect_problem(c().get("/v1/workflows/nope"), 404, "unknown workflow");
  expect_problem(c().get("/v1/workflows/nope/progress"), 404, "unknown progress");
  expect_problem(c().get("/v1/workflows/nope/history"), 404, "unknown history");
  expect_problem(c().get("/v1/nothing-here"), 404, "unknown route");
  expect_problem(c().get("/elsewhere"), 404, "unknown top-level route");
  expect_problem(c().get("/v1/workflows/x/y/z/w"), 404, "too deep route");

  struct Wrong {
    const char* method;
    const char* target;
    const char* allow;
  };
  for (const Wrong& w : std::vector<Wrong>{{"DELETE", "/v1/campaigns", "POST"},
                                           {"GET", "/v1/campaigns", "POST"},
                                           {"GET", "/v1/workflows/x/cancel", "POST"},
                                           {"POST", "/v1/workflows", "GET"},
                                           {"PUT", "/v1/workflows/x", "GET"},
                                           {"GET", "/v1/workflows/x/signals/approve", "POST"},
                                           {"POST", "/health", "GET"}}) {
    HttpReply r = c().call(w.method, w.target);
    expect_problem(r, 405, std::string(w.method) + " " + w.target);
    auto allow = http::find_header(r.headers, "Allow");
    ASSERT_TRUE(allow.has_value()) << w.method << " " << w.target;
    EXPECT_NE(std::string(*allow).find(w.allow), std::string::npos) << *allow;
  }
}

// ---------------------------------------------------------------- wizards

TEST_F(ApiValidationTest, WizardsValidateAndStartOnce) {
  const std::size_t before = workflow_count();
  json bad = sample_campaign();
  bad["tone"] = "shouty";
  HttpReply r = c().post("/v1/wizards", bad);
  expect_problem(r, 422, "invalid draft");
  EXPECT_TRUE(errors_name(r, "tone")) << r.raw;
  expect_problem(c().call("POST", "/v1/wizards", "[]", {{"Content-Type", "application/json"}}),
                 400, "array draft");
  expect_problem(c().call("POST", "/v1/wizards/unknown/approve"), 404, "unknown wizard");
  EXPECT_EQ(workflow_count(), before);

  HttpReply saved = c().post("/v1/wizards", sample_campaign("Wizard Campaign"));
  ASSERT_EQ(saved.status, 201) << saved.raw;
  const std::string wid = saved.body.value("wizard_id", "");
  ASSERT_FALSE(wid.empty()) << saved.raw;
  EXPECT_EQ(workflow_count(), before) << "saving a draft started a workflow";

  expect_problem(c().post("/v1/wizards/" + wid + "/approve", {{"x", 1}}), 422,
                 "approve with a body");

  HttpReply a1 = c().call("POST", "/v1/wizards/" + wid + "/approve");
  ASSERT_EQ(a1.status, 201) << a1.raw;
  const std::string id = a1.body.value("workflow_id", "");
  EXPECT_FALSE(id.empty());
  EXPECT_FALSE(a1.body.value("run_id", "").empty()) << a1.raw;
  EXPECT_EQ(a1.body.value("status", ""), "running") << a1.raw;

  HttpReply a2 = c().call("POST", "/v1/wizards/" + wid + "/approve");
  EXPECT_TRUE(a2.status == 201 || a2.status == 200) << a2.raw;
  EXPECT_EQ(a2.body.value("workflow_id", ""), id);
  EXPECT_EQ(workflow_count(), before + 1);
  EXPECT_EQ(c().get("/v1/workflows/" + id).status, 200);
}

// ---------------------------------------------------------------- idempotency

TEST_F(ApiValidationTest, IdempotencyKeyReturnsTheSameWorkflow) {
  const http::Headers key = {{"Idempotency-Key", "start-once-123"}};
  HttpReply first = c().post("/v1/campaigns", sample_campaign(), key);
  ASSERT_EQ(first.status, 201) << first.raw;
  HttpReply second = c().post("/v1/campaigns", sample_campaign(), key);
  EXPECT_EQ(second.status, 200) << second.raw;
  EXPECT_EQ(second.body.value("workflow_id", "x"), first.body.value("workflow_id", "y"));
  EXPECT_EQ(workflow_count(), 1u);
}

TEST_F(ApiValidationTest, RepeatedWorkflowIdReturnsTheSameWorkflowOrConflicts) {
  json in = sample_campaign();
  in["workflow_id"] = "campaign-fixed-id-1";
  HttpReply first = c().post("/v1/campaigns", in);
  ASSERT_EQ(first.status, 201) << first.raw;
  EXPECT_EQ(first.body.value("workflow_id", ""), "campaign-fixed-id-1");
  HttpReply second = c().post("/v1/campaigns", in);
  EXPECT_EQ(second.status, 200) << second.raw;
  EXPECT_EQ(second.body.value("workflow_id", ""), "campaign-fixed-id-1");

  json other = in;
  other["campaign_name"] = "A different campaign";
  expect_problem(c().post("/v1/campaigns", other), 409, "same id, different input");
  EXPECT_EQ(workflow_count(), 1u);
}

// ---------------------------------------------------------------- listing

TEST_F(ApiValidationTest, ListPaginatesNewestFirstWithFilters) {
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {
    ids.push_back(start(sample_campaign("List " + std::to_string(i))));
    // Distinct creation times keep "newest first" unambiguous.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (const std::string& id : ids) c().wait_for_status(id, "awaiting_approval");
  for (int i : {1, 4}) {
    HttpReply r = c().call("POST", "/v1/workflows/" + ids[i] + "/cancel");
    EXPECT_EQ(r.status, 202) << r.raw;
  }
  for (int i : {1, 4}) c().wait_for_status(ids[i], "cancelled");

  HttpReply p1 = c().get("/v1/workflows?page_size=3");
  ASSERT_EQ(p1.status, 200) << p1.raw;
  EXPECT_EQ(p1.body["pagination"]["total_count"], 7);
  EXPECT_EQ(p1.body["pagination"]["total_pages"], 3);
  EXPECT_EQ(p1.body["pagination"]["page"], 1);
  EXPECT_EQ(p1.body["pagination"]["page_size"], 3);
  ASSERT_EQ(p1.body["data"].size(), 3u);
  EXPECT_EQ(p1.body["data"][0]["workflow_id"], ids[6]);
  EXPECT_EQ(p1.body["data"][1]["workflow_id"], ids[5]);
  EXPECT_EQ(p1.body["data"][2]["workflow_id"], ids[4]);

  HttpReply p2 = c().get("/v1/workflows?page_size=3&page=2");
  ASSERT_EQ(p2.body["data"].size(), 3u);
  EXPECT_EQ(p2.body["data"][0]["workflow_id"], ids[3]);
  EXPECT_EQ(p2.body["data"][2]["workflow_id"], ids[1]);

  HttpReply p3 = c().get("/v1/workflows?page_size=3&page=3");
  ASSERT_EQ(p3.status, 200);
  ASSERT_EQ(p3.body["data"].size(), 1u);
  EXPECT_EQ(p3.body["data"][0]["workflow_id"], ids[0]);

  HttpReply p4 = c().get("/v1/workflows?page_size=3&page=4");
  EXPECT_EQ(p4.status, 200);
  EXPECT_EQ(p4.body["data"].size(), 0u);
  EXPECT_EQ(p4.body["pagination"]["total_count"], 7);

  HttpReply cancelled = c().get("/v1/workflows?status=cancelled");
  ASSERT_EQ(cancelled.status, 200);
  EXPECT_EQ(cancelled.body["pagination"]["total_count"], 2);
  ASSERT_EQ(cancelled.body["data"].size(), 2u);
  EXPECT_EQ(cancelled.body["data"][0]["workflow_id"], ids[4]);
  EXPECT_EQ(cancelled.body["data"][1]["workflow_id"], ids[1]);
  for (const json& row : cancelled.body["data"]) EXPECT_EQ(row["status"], "cancelled");

  HttpReply waiting = c().get("/v1/workflows?status=awaiting_approval&phase=review");
  ASSERT_EQ(waiting.status, 200);
  EXPECT_EQ(waiting.body["pagination"]["total_count"], 5);
  EXPECT_EQ(waiting.body["data"].size(), 5u);
  for (const json& row : waiting.body["data"]) {
    EXPECT_EQ(row["status"], "awaiting_approval");
    EXPECT_EQ(row["current_phase"], "review");
  }

  HttpReply none = c().get("/v1/workflows?status=completed");
  EXPECT_EQ(none.body["pagination"]["total_count"], 0);
  EXPECT_EQ(none.body["pagination"]["total_pages"], 0);

  HttpReply def = c().get("/v1/workflows");
  EXPECT_EQ(def.body["pagination"]["page_size"], 20);
  EXPECT_EQ(def.body["pagination"]["page"], 1);
  EXPECT_EQ(def.body["pagination"]["total_pages"], 1);
  EXPECT_EQ(def.body["data"].size(), 7u);
}

// ---------------------------------------------------------------- raw HTTP

// Sends `bytes` over a fresh TCP connection and reads whatever comes back
// (until close or a short timeout).
std::string raw_exchange(int port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval tv{};
  tv.tv_sec = 2;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

TEST_F(ApiValidationTest, ServerSurvivesMalformedRawHttp) {
  const std::string base = app_->base_url();
  const int port = std::stoi(base.substr(base.rfind(':') + 1));
  const std::vector<std::string> garbage = {
      "this is not http\r\n\r\n",
      std::string("\x00\x01\x02\xff\xfe garbage", 14) + "\r\n\r\n",
      "GET / HTTP/9.9\r\n\r\n",
      "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      "POST /v1/campaigns HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"trunc",
      "POST /v1/campaigns HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "GET /health HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
      "GET /health HTTP/1.1\r\nHost: x\r\nX-Long: " + std::string(64 * 1024, 'h') + "\r\n\r\n",
      "",
  };
  for (const std::string& g : garbage) {
    std::string reply = raw_exchange(port, g);
    if (!reply.empty()) {
      EXPECT_EQ(reply.rfind("HTTP/1.", 0), 0u) << reply.substr(0, 200);
      EXPECT_EQ(reply.find("HTTP/1.1 500"), std::string::npos) << reply.substr(0, 200);
    }
  }
  // A well-formed raw request still works on a plain socket.
  std::string good = raw_exchange(port, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(good.rfind("HTTP/1.1 200", 0), 0u) << good.substr(0, 200);

  HttpReply health = c().get("/health");
  EXPECT_EQ(health.status, 200) << health.raw;
  EXPECT_EQ(health.body.value("status", ""), "ok");
  EXPECT_EQ(c().get("/v1/workflows").status, 200);
}

}  // namespace
}  // namespace orch::testing
