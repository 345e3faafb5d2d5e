#include "tests/support/openapi_exchanges.h"

#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

#include "adapters/sandbox/sandbox.h"
#include "api/server/auth.h"
#include "engine/common/digest.h"

namespace orch::testing::openapi {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kRepoRoot = fs::path(__FILE__).parent_path().parent_path().parent_path();
const fs::path kValidator = kRepoRoot / "tests" / "openapi" / "validate_responses.py";
// Debian's interpreter, the one python3-jsonschema installs for
// (deploy/install-deps.sh); another python3 on PATH may lack the module.
constexpr const char* kPython = "/usr/bin/python3";

}  // namespace

const fs::path kDocumentPath = kRepoRoot / "docs" / "reference" / "openapi.json";

const std::set<std::string> kCoreTags = {"campaigns", "wizards", "workflows",
                                         "signals",   "updates", "commands",
                                         "adapters",  "system",  "documentation"};
const std::set<std::string> kAudienceTags = {"users", "customers", "broadcasts", "webhooks"};
const std::set<std::string> kEventTags = {"events", "triggers", "dead-letters"};

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

std::set<std::string> documented_operations(const json& doc, const std::set<std::string>& tags) {
  std::set<std::string> ops;
  for (const auto& [path, item] : doc["paths"].items())
    for (const char* m : kMethods) {
      if (!item.contains(m)) continue;
      const json& tag = item[m].value("tags", json::array());
      if (tags.empty() || (!tag.empty() && tags.count(tag[0].get<std::string>())))
        ops.insert(upper(m) + " " + path);
    }
  return ops;
}

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

// ---------------------------------------------------------------- exchanges

HttpReply Exchanges::call(ApiClient& client, const std::string& method, const std::string& target,
                          const std::string& body, http::Headers headers, RequestCheck check) {
  HttpReply r = client.call(method, target, body, headers);
  record(method, target, r, body, check);
  return r;
}

void Exchanges::record(const std::string& method, const std::string& target, const HttpReply& r,
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
    return ADD_FAILURE() << label << ": status " << status << " is not documented for " << operation
                         << "\n"
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

// ---------------------------------------------------------------- servers

void OpenApiServersTest::SetUp() {
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

void OpenApiServersTest::wait_for(Exchanges& x, const std::string& id, const std::string& status) {
  HttpReply r =
      x.get(*client_, "/v1/workflows/" + id + "/progress?wait_for=" + status + "&wait_ms=20000");
  ASSERT_EQ(r.body.value("status", ""), status) << r.raw;
}

std::string OpenApiServersTest::expect_covered_and_valid(const json& doc, const Exchanges& x,
                                                         const std::set<std::string>& tags,
                                                         const std::vector<std::string>& expected,
                                                         std::size_t min_cases) {
  for (const std::string& op : documented_operations(doc, tags))
    EXPECT_TRUE(x.succeeded().count(op)) << op << " was never answered 2xx";
  for (const std::string& status : expected)
    EXPECT_TRUE(x.seen().count(status)) << status << " was not exercised";
  EXPECT_GT(x.cases().size(), min_cases);
  auto [code, report] = validate(doc, x.cases(), dir_.path);
  EXPECT_EQ(code, 0) << report;
  EXPECT_NE(report.find(" 0 failures"), std::string::npos) << report;
  std::cout << "validator: " << report;
  return report;
}

}  // namespace orch::testing::openapi
