// What the OpenAPI tests (tests/openapi_*_test.cpp) share: the document
// (docs/reference/openapi.json) read and walked; the exchanges with a real
// server, each matched to its operation, status and content type, with its
// body (and the request's) queued for the schemas; the validator that
// judges them (tests/openapi/validate_responses.py, python3-jsonschema);
// and the servers they talk to.
//
// Each responses test covers the operations of its tags: every one must be
// answered 2xx at least once there. openapi_test checks that the tag sets
// below hold every operation of the document, once.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/orchestrator_fixture.h"

namespace orch::testing::openapi {

extern const std::filesystem::path kDocumentPath;

// The tags of each responses test's operations.
extern const std::set<std::string> kCoreTags;      // openapi_test.cpp
extern const std::set<std::string> kAudienceTags;  // openapi_audience_test.cpp
extern const std::set<std::string> kEventTags;     // openapi_events_test.cpp

inline constexpr const char* kMethods[] = {"get",     "put",  "post",  "delete",
                                           "options", "head", "patch", "trace"};

nlohmann::json load_document();

std::string lower(std::string s);
std::string upper(std::string s);

// A JSON pointer to `parts`, and the same as a "$ref" (a URI fragment).
std::string pointer(const std::vector<std::string>& parts);
std::string ref_to(const std::vector<std::string>& parts);
// The parts of a local "$ref" ("#/a/b~1c" -> {"a", "b/c"}).
std::vector<std::string> ref_parts(const std::string& ref);

// Whether `path` (no query) matches the template's segments.
bool matches(const std::string& path_template, const std::string& path);

// "METHOD /template" of every operation in the document; with `tags`, of
// those whose first tag is one of them.
std::set<std::string> documented_operations(const nlohmann::json& doc,
                                            const std::set<std::string>& tags = {});

// The concrete paths of a template: each "{name}" by the values its schema
// enumerates, or else `fallback`.
std::vector<std::string> expand(const nlohmann::json& doc, const std::string& path_template,
                                const nlohmann::json& operation, const std::string& fallback);

// Talks to the servers and keeps each exchange: its response, to be found
// in the document and validated, and (optionally) its request body: one
// taken must fit the request schema, one refused field by field (422 with
// `errors`) must not.
class Exchanges {
 public:
  enum class RequestCheck { none, by_outcome };

  explicit Exchanges(const nlohmann::json& doc) : doc_(doc) {}

  HttpReply call(ApiClient& client, const std::string& method, const std::string& target,
                 const std::string& body = "", http::Headers headers = {},
                 RequestCheck check = RequestCheck::by_outcome);
  HttpReply get(ApiClient& client, const std::string& target, http::Headers headers = {}) {
    return call(client, "GET", target, "", std::move(headers));
  }
  HttpReply post(ApiClient& client, const std::string& target, const nlohmann::json& body,
                 http::Headers headers = {}, RequestCheck check = RequestCheck::by_outcome) {
    return call(client, "POST", target, body.dump(), std::move(headers), check);
  }

  // Operations ("METHOD /template") answered 2xx at least once.
  const std::set<std::string>& succeeded() const { return succeeded_; }
  // "METHOD /template STATUS" of every exchange.
  const std::set<std::string>& seen() const { return seen_; }
  const nlohmann::json& cases() const { return cases_; }

 private:
  void record(const std::string& method, const std::string& target, const HttpReply& r,
              const std::string& request_body, RequestCheck check);

  const nlohmann::json& doc_;
  std::set<std::string> succeeded_, seen_;
  nlohmann::json cases_ = nlohmann::json::array();
};

// Runs the validator on `cases` against `doc` (files in `dir`); its exit
// status and output.
std::pair<int, std::string> validate(const nlohmann::json& doc, const nlohmann::json& cases,
                                     const std::filesystem::path& dir);

// Two orchestrators with their sandboxes: one without authentication
// (client_, sandbox_), one with an operator, a viewer and a reviewer token
// (auth_client_).
class OpenApiServersTest : public ::testing::Test {
 protected:
  static constexpr const char* kOperator = "operator-secret";
  static constexpr const char* kViewer = "viewer-secret";
  static constexpr const char* kAlice = "alice-secret";

  void SetUp() override;

  static http::Headers bearer(const char* token) {
    return {{"Authorization", std::string("Bearer ") + token}};
  }

  // Long-polls progress until the workflow's status is `status`.
  void wait_for(Exchanges& x, const std::string& id, const std::string& status);

  // Every operation of `tags` answered 2xx, every "METHOD /template STATUS"
  // of `expected` seen, more than `min_cases` cases, and all of them valid;
  // returns the validator's report.
  std::string expect_covered_and_valid(const nlohmann::json& doc, const Exchanges& x,
                                       const std::set<std::string>& tags,
                                       const std::vector<std::string>& expected,
                                       std::size_t min_cases);

  TempDir dir_, auth_dir_;
  std::unique_ptr<api::OrchestratorApp> app_, auth_app_;
  std::unique_ptr<ApiClient> client_, sandbox_, auth_client_;
};

}  // namespace orch::testing::openapi
