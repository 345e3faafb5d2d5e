// docs/reference/openapi.json against the server: the document is OpenAPI
// 3.1 and every $ref resolves; its operations are exactly the router's table
// (ApiRoutes::table()), each really served, each with the roles the table
// demands; and real responses of every route, success and error paths, with
// and without authentication, are documented (status and content type) and
// valid against their schemas, as judged by python3-jsonschema
// (tests/openapi/validate_responses.py), which also checks the document's
// examples. Request bodies the server took must fit the request schema, and
// those it refused field by field must not.
#include <gtest/gtest.h>

#include <thread>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "adapters/sandbox/sandbox.h"
#include "api/server/auth.h"
#include "api/routes/api_routes.h"
#include "engine/common/digest.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kRepoRoot = fs::path(__FILE__).parent_path().parent_path();
const fs::path kDocumentPath = kRepoRoot / "docs" / "reference" / "openapi.json";
const fs::path kValidator = kRepoRoot / "tests" / "openapi" / "validate_responses.py";
// Debian's interpreter, the one python3-jsonschema installs for
// (deploy/install-deps.sh); another python3 on PATH may lack the module.
constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kMethods[] = {"get",     "put",  "post",  "delete",
                                    "options", "head", "patch", "trace"};

json load_document() {
  json doc = json::parse(read_file(kDocumentPath), nullptr, false);
  EXPECT_TRUE(doc.is_object()) << kDocumentPath << " is not JSON";
  return doc;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// A JSON pointer to `parts`, and the same as a "$ref" (a URI fragment).
std::string pointer(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) {
    out += '/';
    for (char c : p) {
      if (c == '~')
        out += "~0";
      else if (c == '/')
        out += "~1";
      else
        out += c;
    }
  }
  return out;
}

std::string ref_to(const std::vector<std::string>& parts) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "#";
  for (unsigned char c : pointer(parts)) {
    if (std::isalnum(c) || std::strchr("-._~/", c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

// The parts of a local "$ref" ("#/a/b~1c" -> {"a", "b/c"}).
std::vector<std::string> ref_parts(const std::string& ref) {
  std::vector<std::string> parts;
  if (ref.rfind("#/", 0) != 0) return parts;
  json::json_pointer p(ref.substr(1));
  while (!p.empty()) {
    parts.insert(parts.begin(), p.back());
    p.pop_back();
  }
  return parts;
}

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

// Whether `path` (no query) matches the template's segments.
bool matches(const std::string& path_template, const std::string& path) {
  auto segments = [](const std::string& p) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < p.size()) {
      std::size_t j = p.find('/', i + 1);
      if (j == std::string::npos) j = p.size();
      if (j > i + 1) out.push_back(p.substr(i + 1, j - i - 1));
      i = j;
    }
    return out;
  };
  const auto t = segments(path_template), s = segments(path);
  if (t.size() != s.size()) return false;
  for (std::size_t i = 0; i < t.size(); ++i)
    if (t[i].front() != '{' && t[i] != s[i]) return false;
  return true;
}

// "METHOD /template" of every operation in the document.
std::set<std::string> documented_operations(const json& doc) {
  std::set<std::string> ops;
  for (const auto& [path, item] : doc["paths"].items())
    for (const char* m : kMethods)
      if (item.contains(m)) ops.insert(upper(m) + " " + path);
  return ops;
}

// The concrete paths of a template: each "{name}" by the values its schema
// enumerates, or else `fallback`.
std::vector<std::string> expand(const json& doc, const std::string& path_template,
                                const json& operation, const std::string& fallback) {
  std::vector<std::string> out = {path_template};
  for (const json& param : operation.value("parameters", json::array())) {
    const json& p = param.contains("$ref")
                        ? doc[json::json_pointer(param["$ref"].get<std::string>().substr(1))]
                        : param;
    if (p.value("in", "") != "path") continue;
    const std::string name = "{" + p["name"].get<std::string>() + "}";
    std::vector<std::string> values = {fallback};
    if (p["schema"].contains("enum")) values = p["schema"]["enum"].get<std::vector<std::string>>();
    std::vector<std::string> next;
    for (const std::string& path : out)
      for (const std::string& v : values) {
        std::string expanded = path;
        expanded.replace(expanded.find(name), name.size(), v);
        next.push_back(expanded);
      }
    out = std::move(next);
  }
  return out;
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

// Talks to the servers and keeps each exchange: its response, to be found
// in the document and validated, and (optionally) its request body.
class Exchanges {
 public:
  enum class RequestCheck { none, by_outcome };

  explicit Exchanges(const json& doc) : doc_(doc) {}

  HttpReply call(ApiClient& client, const std::string& method, const std::string& target,
                 const std::string& body = "", http::Headers headers = {},
                 RequestCheck check = RequestCheck::by_outcome) {
    HttpReply r = client.call(method, target, body, headers);
    record(method, target, r, body, check);
    return r;
  }
  HttpReply get(ApiClient& client, const std::string& target, http::Headers headers = {}) {
    return call(client, "GET", target, "", std::move(headers));
  }
  HttpReply post(ApiClient& client, const std::string& target, const json& body,
                 http::Headers headers = {}, RequestCheck check = RequestCheck::by_outcome) {
    return call(client, "POST", target, body.dump(), std::move(headers), check);
  }

  // Operations ("METHOD /template") answered 2xx at least once.
  const std::set<std::string>& succeeded() const { return succeeded_; }
  // "METHOD /template STATUS" of every exchange.
  const std::set<std::string>& seen() const { return seen_; }
  const json& cases() const { return cases_; }

 private:
  void record(const std::string& method, const std::string& target, const HttpReply& r,
              const std::string& request_body, RequestCheck check) {
    const std::string path = target.substr(0, target.find('?'));
    const std::string label = method + " " + target + " -> " + std::to_string(r.status);
    std::string path_template;
    for (const auto& [t, item] : doc_["paths"].items())
      if (matches(t, path) && (path_template.empty() || t.find('{') == std::string::npos))
        path_template = t;
    if (path_template.empty()) return ADD_FAILURE() << label << ": no documented path matches";
    const std::string m = lower(method);
    const json& item = doc_["paths"][path_template];
    if (!item.contains(m)) return ADD_FAILURE() << label << ": " << method << " not documented";
    const json& op = item[m];
    const std::string status = std::to_string(r.status);
    const std::string operation = method + " " + path_template;
    seen_.insert(operation + " " + status);
    if (r.status / 100 == 2) succeeded_.insert(operation);
    if (!op["responses"].contains(status))
      return ADD_FAILURE() << label << ": status " << status << " is not documented for "
                           << operation << "\n"
                           << r.raw.substr(0, 400);
    std::vector<std::string> at = {"paths", path_template, m, "responses", status};
    const json* response = &op["responses"][status];
    if (response->contains("$ref")) {
      at = ref_parts((*response)["$ref"].get<std::string>());
      response = &doc_[json::json_pointer(pointer(at))];
    }
    const std::string content_type(http::find_header(r.headers, "Content-Type").value_or(""));
    // No content: documented as none, and no body.
    if (r.status == 204 && !response->contains("content")) {
      EXPECT_TRUE(r.raw.empty()) << label << ": a 204 with a body";
      return;
    }
    if (!response->contains("content") || !(*response)["content"].contains(content_type))
      return ADD_FAILURE() << label << ": content type '" << content_type
                           << "' is not documented for " << operation << " " << status;
    if (content_type == "application/json" || content_type == "application/problem+json") {
      EXPECT_FALSE(r.body.is_discarded()) << label << ": not JSON: " << r.raw.substr(0, 200);
      at.insert(at.end(), {"content", content_type, "schema"});
      cases_.push_back(
          {{"label", label}, {"schema", ref_to(at)}, {"instance", r.body}, {"expect", "valid"}});
    }
    // A body taken must fit the request schema; one refused field by field
    // must not.
    if (check != RequestCheck::by_outcome || request_body.empty() || !op.contains("requestBody"))
      return;
    const bool taken = r.status / 100 == 2;
    const bool refused = r.status == 422 && r.body.is_object() && r.body.contains("errors");
    json instance = json::parse(request_body, nullptr, false);
    if ((!taken && !refused) || instance.is_discarded()) return;
    cases_.push_back({{"label", "request of " + label},
                      {"schema", ref_to({"paths", path_template, m, "requestBody", "content",
                                         "application/json", "schema"})},
                      {"instance", std::move(instance)},
                      {"expect", taken ? "valid" : "invalid"}});
  }

  const json& doc_;
  std::set<std::string> succeeded_, seen_;
  json cases_ = json::array();
};

// Runs the validator on `cases` against `doc`; its exit status and output.
std::pair<int, std::string> validate(const json& doc, const json& cases, const fs::path& dir) {
  const fs::path input = dir / "openapi-cases.json";
  const fs::path output = dir / "openapi-validation.txt";
  std::ofstream(input) << json{{"document", doc}, {"cases", cases}}.dump();
  const std::string command = std::string(kPython) + " " + kValidator.string() + " " +
                              input.string() + " > " + output.string() + " 2>&1";
  const int status = std::system(command.c_str());
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return {code, read_file(output)};
}

class OpenApiResponsesTest : public ::testing::Test {
 protected:
  static constexpr const char* kOperator = "operator-secret";
  static constexpr const char* kViewer = "viewer-secret";
  static constexpr const char* kAlice = "alice-secret";

  void SetUp() override {
    api::AppConfig config = test_config(dir_.path);
    // A step that exhausts its attempts in distribution pauses the workflow
    // (for POST /retry).
    config.tuning.pause_on_exhausted = {"distribution."};
    app_ = std::make_unique<api::OrchestratorApp>(config);
    ASSERT_EQ(app_->start(), "");
    client_ = std::make_unique<ApiClient>(app_->base_url());
    sandbox_ = std::make_unique<ApiClient>(app_->sandbox()->base_url());

    api::AppConfig secured = test_config(auth_dir_.path);
    secured.auth.enabled = true;
    secured.auth.tokens = {{"ops", "olga", api::Role::operator_, sha256_hex(kOperator)},
                           {"view", "vic", api::Role::viewer, sha256_hex(kViewer)},
                           {"alice-laptop", "alice", api::Role::reviewer, sha256_hex(kAlice)}};
    auth_app_ = std::make_unique<api::OrchestratorApp>(secured);
    ASSERT_EQ(auth_app_->start(), "");
    auth_client_ = std::make_unique<ApiClient>(auth_app_->base_url());
  }

  static http::Headers bearer(const char* token) {
    return {{"Authorization", std::string("Bearer ") + token}};
  }

  // Long-polls progress until the workflow's status is `status`.
  void wait_for(Exchanges& x, const std::string& id, const std::string& status) {
    HttpReply r =
        x.get(*client_, "/v1/workflows/" + id + "/progress?wait_for=" + status + "&wait_ms=20000");
    ASSERT_EQ(r.body.value("status", ""), status) << r.raw;
  }

  TempDir dir_, auth_dir_;
  std::unique_ptr<api::OrchestratorApp> app_, auth_app_;
  std::unique_ptr<ApiClient> client_, sandbox_, auth_client_;
};

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

  // The user actors: settings, state, opt-outs, eligibility, reservations.
  const std::string u = "/v1/users/ana";
  const http::Headers json_body = {{"Content-Type", "application/json"}};
  const json settings = {{"max_messages_per_day", 1},
                         {"timezone", "Europe/Lisbon"},
                         {"quiet_hours", {{"start", "23:59"}, {"end", "00:00"}}},
                         {"preferences", {{"language", "pt"}}}};
  EXPECT_EQ(x.call(c, "PUT", u, settings.dump(), json_body).status, 201);
  EXPECT_EQ(x.call(c, "PUT", u, settings.dump(), json_body).status, 200);
  EXPECT_EQ(x.call(c, "PUT", u, json{{"max_messages_per_day", -1}, {"timezone", "Mars/Base"}}.dump(),
                   json_body).status,
            422);
  x.call(c, "PUT", "/v1/users/no%20spaces", "{}", json_body);
  x.get(c, u);
  x.get(c, "/v1/users/nobody");
  x.get(c, "/v1/users?page_size=10");
  x.get(c, "/v1/users?page=0");
  x.get(c, u + "/eligibility?channel=email");
  x.get(c, u + "/eligibility?channel=fax");
  const json reserve = {{"campaign_id", "c1"}, {"channel", "email"}, {"message_id", "m1"},
                        {"priority", "high"}};  // high: whatever the quiet hours
  HttpReply granted = x.post(c, u + "/reservations", reserve);
  ASSERT_EQ(granted.body.value("status", ""), "granted") << granted.raw;
  EXPECT_EQ(x.post(c, u + "/reservations", reserve).body, granted.body);
  json other = reserve;
  other["channel"] = "sms";
  EXPECT_EQ(x.post(c, u + "/reservations", other).status, 409);
  EXPECT_EQ(x.post(c, u + "/reservations", {{"campaign_id", "c2"}, {"channel", "sms"},
                                            {"message_id", "m2"}})
                .body.value("status", ""),
            "denied");
  x.get(c, u);
  const std::string rid = granted.body["reservation_id"];
  EXPECT_EQ(x.post(c, u + "/reservations/" + rid + "/commit", json::object()).status, 200);
  EXPECT_EQ(x.post(c, u + "/reservations/" + rid + "/commit", json::object()).status, 200);
  x.post(c, u + "/reservations/rsv-none/release", json::object());
  x.post(c, u + "/reservations/" + rid + "/release", {{"why", "no body"}});
  HttpReply deferred = x.post(c, u + "/reservations", {{"campaign_id", "c3"}, {"channel", "push"},
                                                       {"message_id", "m3"}, {"on_capped", "defer"}});
  ASSERT_EQ(deferred.body.value("status", ""), "deferred") << deferred.raw;
  x.get(c, u);
  x.get(c, u + "/eligibility?channel=push");
  EXPECT_EQ(x.post(c, u + "/reservations/" + deferred.body["reservation_id"].get<std::string>() +
                          "/release",
                   json::object())
                .status,
            200);
  x.post(c, u + "/reservations", {{"campaign_id", "c4"}, {"channel", "fax"}, {"priority", "urgent"}});
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
  EXPECT_EQ(x.post(c, "/v1/customers", {{"id", "cu1"}, {"phone", "+254712345001"},
                                        {"first_name", "Alice"}, {"location", "Nairobi"}})
                .status,
            201);
  x.post(c, "/v1/customers", {{"id", "cu1"}, {"phone", "+254712345001"}, {"first_name", "Al"}});
  x.post(c, "/v1/customers", {{"id", "cu2"}, {"phone", "0712"}});
  x.post(c, "/v1/customers", json::array({{{"id", "cu2"}, {"phone", "+254712345002"}},
                                          {{"id", "cu3"}, {"phone", "bad"}}}));
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
  HttpReply bc = x.post(c, "/v1/broadcasts", {{"name", "Spring"}, {"channel", "sms"},
                                              {"base_template", "Hi {first_name|there}!"}});
  ASSERT_EQ(bc.status, 201) << bc.raw;
  const std::string b = "/v1/broadcasts/" + bc.body["id"].get<std::string>();
  x.post(c, "/v1/broadcasts", {{"name", "x"}, {"channel", "sms"}, {"base_template", "{coupon}"}});
  x.post(c, "/v1/broadcasts", {{"name", "x"}, {"channel", "sms"}, {"base_template", "Hi"},
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
  EXPECT_EQ(x.call(c, "POST", receipt, "MessageSid=" + sid + "&MessageStatus=delivered", form).status,
            200);
  x.call(c, "POST", receipt, "MessageSid=SMnot&MessageStatus=sent", form);
  x.call(c, "POST", receipt, "MessageSid=" + sid + "&MessageStatus=lost", form);
  x.call(c, "POST", "/v1/webhooks/fax/status", "MessageSid=x&MessageStatus=sent", form);

  // Every operation succeeded at least once.
  for (const std::string& op : documented_operations(doc))
    EXPECT_TRUE(x.succeeded().count(op)) << op << " was never answered 2xx";
  for (const char* expected :
       {"POST /v1/campaigns 400", "POST /v1/campaigns 401", "POST /v1/campaigns 403",
        "POST /v1/campaigns 409", "POST /v1/campaigns 413", "POST /v1/campaigns 415",
        "POST /v1/campaigns 422", "GET /v1/workflows/{id} 404",
        "POST /v1/workflows/{id}/signals/approve 409",
        "POST /v1/workflows/{id}/signals/update_content 413",
        "POST /v1/workflows/{id}/updates/approve 403", "PUT /v1/users/{id} 422",
        "POST /v1/users/{id}/reservations 409", "POST /v1/users/{id}/opt-out 403",
        "POST /v1/users/{id}/reservations/{reservation_id}/release 404"})
    EXPECT_TRUE(x.seen().count(expected)) << expected << " was not exercised";

  // The schemas judge every response and request body, then a document with
  // one schema broken must fail on the same responses.
  const json& cases = x.cases();
  EXPECT_GT(cases.size(), 150u);
  auto [code, report] = validate(doc, cases, dir_.path);
  EXPECT_EQ(code, 0) << report;
  EXPECT_NE(report.find(" 0 failures"), std::string::npos) << report;
  std::cout << "validator: " << report;
  json broken = doc;
  broken["components"]["schemas"]["Progress"]["properties"]["progress_percentage"]["maximum"] = 50;
  auto [broken_code, broken_report] = validate(broken, cases, dir_.path);
  EXPECT_EQ(broken_code, 1) << broken_report;
  EXPECT_NE(broken_report.find("GET " + wf + "/progress"), std::string::npos) << broken_report;
}

}  // namespace
}  // namespace orch::testing
