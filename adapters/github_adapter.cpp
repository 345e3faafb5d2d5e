#include "adapters/github_adapter.h"
#include "engine/json_text.h"
#include "engine/json_object.h"
#include "engine/json_writer.h"

#include <utility>

namespace orch::adapters {

using nlohmann::json;

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
