// GitHub (CodeHost): pull requests and repository contents, REST API version
// 2022-11-28, every request with "Authorization: Bearer <token>",
// "Accept: application/vnd.github+json" and "X-GitHub-Api-Version: 2022-11-28".
//   open_pull_request: POST /repos/{owner}/{repo}/pulls {"base","body","head",
//     "title"}; answer 201 pull request: reads number, html_url.
//     https://docs.github.com/en/rest/pulls/pulls#create-a-pull-request
//   publish_file: PUT /repos/{owner}/{repo}/contents/{path} {"branch"?,
//     "content" (Base64),"message"}; answer 201 (created) or 200 (updated)
//     {"content":{...},"commit":{...}}: reads content.sha, content.path,
//     content.html_url, commit.sha.
//     https://docs.github.com/en/rest/repos/contents#create-or-update-file-contents
//   delete_file: DELETE /repos/{owner}/{repo}/contents/{path} {"branch"?,
//     "message","sha"}; answer 200 {"content":null,"commit":{...}}: reads
//     commit.sha. 404: already absent; 409 (sha mismatch) permanent.
//     https://docs.github.com/en/rest/repos/contents#delete-a-file
// Errors: {"message","documentation_url","status"?,"errors"?:[{"resource",
// "field","code","message"?}]}; the step fails with "github: <message>" and
// each errors[] entry (its message, or resource.field code).
// Rate limits (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api):
// a 403 or 429 is retryable when x-ratelimit-remaining is 0 (retry at
// x-ratelimit-reset), when Retry-After is present (after it), or when the
// message names a rate limit (after a minute); any other 403 is permanent.
// Settings: owner, repo, base_branch (default main), branch (optional, the
// branch contents are committed to; GitHub's default branch when unset).
// Two instances are used: the review repository and the GitHub Pages one.
#pragma once

#include "adapters/services/service_adapter.h"

namespace orch::adapters {

class GitHubAdapter final : public phases::CodeHost, public ServiceAdapter {
 public:
  // `service` names the config entry ("github" or "github_pages").
  GitHubAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint,
                std::string service = "github");
  // value: {"number","url"} (url = html_url)
  void open_pull_request(const phases::CallContext& ctx, const std::string& title,
                         const std::string& body, const std::string& branch,
                         phases::ServiceCallback done) override;
  // value: {"path","sha","commit_sha","url"} (url = html_url)
  void publish_file(const phases::CallContext& ctx, const std::string& path,
                    const std::string& content, const std::string& message,
                    phases::ServiceCallback done) override;
  // Compensation. value: {"commit_sha"} (+ "already_absent":true and an
  // empty commit_sha on 404). A sha mismatch (409) is permanent.
  void delete_file(const phases::CallContext& ctx, const std::string& path,
                   const std::string& sha, const std::string& message,
                   phases::ServiceCallback done) override;

  // How long GitHub asks to wait for the rate-limited answer `res`, or
  // nullopt when `res` is no rate limit. `now_unix_s` is the current time.
  static std::optional<std::chrono::milliseconds> rate_limit_wait(const http::Response& res,
                                                                  std::int64_t now_unix_s);

 protected:
  std::string error_reason(const http::Response& res) const override;
  RetryAdvice retry_advice(const http::Response& res) const override;

 private:
  std::string repo_path() const;
  void add_headers(http::Headers& headers) const;
};

}  // namespace orch::adapters
