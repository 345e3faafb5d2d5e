#include "adapters/services/github_adapter.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "adapters/resilience/retry_schedule.h"
#include "engine/json/json_object.h"
#include "engine/json/json_text.h"
#include "engine/json/json_writer.h"

namespace orch::adapters {

using nlohmann::json;

namespace {

// "Wait for at least one minute before retrying" (the rate-limit page).
constexpr std::chrono::seconds kSecondaryRateLimitWait{60};

std::optional<std::int64_t> header_integer(const http::Response& res, std::string_view name) {
  auto h = res.header(name);
  if (!h || h->empty() || h->size() > 18) return std::nullopt;
  std::int64_t n = 0;
  for (char c : *h) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

bool mentions_rate_limit(std::string_view body) {
  std::string message = json_string(error_body(body), "message");
  std::transform(message.begin(), message.end(), message.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return message.find("rate limit") != std::string::npos;
}

}  // namespace

std::optional<std::chrono::milliseconds> GitHubAdapter::rate_limit_wait(const http::Response& res,
                                                                        std::int64_t now_unix_s) {
  if (res.status != 403 && res.status != 429) return std::nullopt;
  if (auto h = res.header("Retry-After"))
    if (auto wait = resilience::parse_retry_after(*h, now_unix_s * 1000)) return *wait;
  if (header_integer(res, "x-ratelimit-remaining") == std::optional<std::int64_t>(0)) {
    if (auto reset = header_integer(res, "x-ratelimit-reset"))
      return std::chrono::seconds(std::max<std::int64_t>(0, *reset - now_unix_s));
    return kSecondaryRateLimitWait;
  }
  if (res.status == 429 || mentions_rate_limit(res.body)) return kSecondaryRateLimitWait;
  return std::nullopt;
}

RetryAdvice GitHubAdapter::retry_advice(const http::Response& res) const {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (auto wait = rate_limit_wait(res, now)) return RetryAdvice{true, *wait};
  return standard_retry_advice(res);
}

std::string GitHubAdapter::error_reason(const http::Response& res) const {
  const json body = error_body(res.body);
  std::string reason = json_string(body, "message");
  auto errors = body.is_object() ? body.find("errors") : body.end();
  if (errors == body.end() || !errors->is_array())
    return reason.empty() ? error_detail(res.body) : reason;
  std::string details;
  for (const auto& e : *errors) {
    std::string detail = e.is_string() ? e.get<std::string>() : json_string(e, "message");
    if (detail.empty() && e.is_object()) {
      detail = json_string(e, "resource");
      if (std::string field = json_string(e, "field"); !field.empty())
        detail += (detail.empty() ? "" : ".") + field;
      if (std::string code = json_string(e, "code"); !code.empty())
        detail += (detail.empty() ? "" : " ") + code;
    }
    if (detail.empty()) continue;
    if (!details.empty()) details += "; ";
    details += detail;
  }
  if (details.empty()) return reason;
  return reason.empty() ? details : reason + ": " + details;
}

GitHubAdapter::GitHubAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint,
                             std::string service)
    : ServiceAdapter(transport, std::move(service), std::move(endpoint)) {}

std::string GitHubAdapter::repo_path() const {
  return "/repos/" + url_encode(setting("owner", "acme")) + "/" +
         url_encode(setting("repo", "campaigns"));
}

void GitHubAdapter::add_headers(http::Headers& headers) const {
  add_bearer(headers);
  headers.emplace_back("Accept", "application/vnd.github+json");
  headers.emplace_back("X-GitHub-Api-Version", "2022-11-28");
}

void GitHubAdapter::open_pull_request(const phases::CallContext& ctx, const std::string& title,
                                      const std::string& body, const std::string& branch,
                                      phases::ServiceCallback done) {
  Exchange ex;
  ex.method = "POST";
  ex.target = repo_path() + "/pulls";
  JsonWriter(ex.body)
      .begin_object()
      .key("base").string(setting("base_branch", "main"))
      .key("body").string(body)
      .key("head").string(branch)
      .key("title").string(title)
      .end_object();
  add_headers(ex.headers);
  execute(ctx, std::move(ex),
          [](const http::Response& res, phases::ServiceResult& out) {
            json b;
            static const JsonProjection kFields{"number", "html_url"};
            if (!parse_object(res, kFields, b, out)) return;
            auto number = b.find("number");
            if (number == b.end() || !number->is_number_integer())
              return reject(out, "unusable response body: no pull request number");
            out.value = json_object("number", number->get<int64_t>(), "url",
                                    json_string(b, "html_url"));
          },
          std::move(done));
}

void GitHubAdapter::publish_file(const phases::CallContext& ctx, const std::string& path,
                                 const std::string& content, const std::string& message,
                                 phases::ServiceCallback done) {
  Exchange ex;
  ex.method = "PUT";
  ex.target = repo_path() + "/contents/" + url_encode_path(path);
  JsonWriter w(ex.body);
  w.begin_object();
  if (std::string branch = setting("branch"); !branch.empty()) w.key("branch").string(branch);
  w.key("content").string(base64_encode(content)).key("message").string(message).end_object();
  add_headers(ex.headers);
  execute(ctx, std::move(ex),
          [path](const http::Response& res, phases::ServiceResult& out) {
            json b;
            static const JsonProjection kFields{"content/sha", "content/path",
                                                "content/html_url", "commit/sha"};
            if (!parse_object(res, kFields, b, out)) return;
            auto c = b.find("content");
            auto commit = b.find("commit");
            if (c == b.end() || !c->is_object() || commit == b.end() || !commit->is_object())
              return reject(out, "unusable response body: no content/commit");
            std::string sha = json_string(*c, "sha");
            if (sha.empty()) return reject(out, "unusable response body: no content sha");
            std::string got = json_string(*c, "path");
            out.value = json_object("path", got.empty() ? path : got, "sha", sha, "commit_sha",
                                    json_string(*commit, "sha"), "url",
                                    json_string(*c, "html_url"));
          },
          std::move(done));
}

void GitHubAdapter::delete_file(const phases::CallContext& ctx, const std::string& path,
                                const std::string& sha, const std::string& message,
                                phases::ServiceCallback done) {
  json body = {{"message", message}, {"sha", sha}};
  if (std::string branch = setting("branch"); !branch.empty()) body["branch"] = branch;
  Exchange ex;
  ex.method = "DELETE";
  ex.target = repo_path() + "/contents/" + url_encode_path(path);
  ex.body = dump_json(body);
  ex.compensation = true;
  ex.absent_value = {{"commit_sha", ""}};
  add_headers(ex.headers);
  execute(ctx, std::move(ex),
          [](const http::Response& res, phases::ServiceResult& out) {
            json b;
            static const JsonProjection kFields{"commit/sha"};
            if (!parse_object(res, kFields, b, out)) return;
            auto commit = b.find("commit");
            out.value = {{"commit_sha", commit == b.end() ? std::string()
                                                          : json_string(*commit, "sha")}};
          },
          std::move(done));
}

}  // namespace orch::adapters
