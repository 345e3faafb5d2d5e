// GitHub (CodeHost): POST /repos/{o}/{r}/pulls, PUT and DELETE
// /repos/{o}/{r}/contents/{path}, with "Authorization: Bearer",
// "Accept: application/vnd.github+json" and X-GitHub-Api-Version.
// Settings: owner, repo, base_branch (default main), branch (optional, the
// branch contents are committed to; GitHub's default branch when unset).
// Two instances are used: the review repository and the GitHub Pages one.
#pragma once

#include "adapters/service_adapter.h"

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

 private:
  std::string repo_path() const;
  void add_headers(http::Headers& headers) const;
};

}  // namespace orch::adapters
