// GitHub: POST /repos/{o}/{r}/pulls, PUT|GET|DELETE
// /repos/{o}/{r}/contents/{path} (replacing a file without its sha -> 422,
// a stale sha -> 409).
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "adapters/sandbox/fake_services.h"
#include "engine/json/json_writer.h"

namespace orch::sandbox {

using nlohmann::json;
using http::Response;

namespace {

constexpr const char* kGitHubDocs = "https://docs.github.com/rest";

}  // namespace

// GitHub's error body; "status" is the HTTP status as a string, as GitHub
// has sent it since 2023.
Response github_error(int status, const std::string& message, json errors) {
  json j = {
      {"message", message}, {"documentation_url", kGitHubDocs}, {"status", std::to_string(status)}};
  if (!errors.is_null()) j["errors"] = std::move(errors);
  return json_response(status, j);
}

namespace {

Response github_missing(const char* resource, const char* field) {
  return github_error(422, "Validation Failed",
                      json::array({{{"resource", resource},
                                    {"field", field},
                                    {"code", "missing_field"}}}));
}

std::string contents_path(const Call& c) {
  std::string p;
  for (std::size_t i = 4; i < c.seg.size(); ++i) {
    if (!p.empty()) p.push_back('/');
    p += c.seg[i];
  }
  return p;
}

bool looks_base64(std::string_view s) {
  for (char ch : s) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '+' || ch == '/' ||
          ch == '=' || ch == '\n' || ch == '\r'))
      return false;
  }
  return true;
}

std::size_t base64_decoded_size(std::string_view s) {
  std::size_t n = 0, pad = 0;
  for (char ch : s) {
    if (ch == '\n' || ch == '\r') continue;
    ++n;
    if (ch == '=') ++pad;
  }
  return n / 4 * 3 - std::min<std::size_t>(pad, 2);
}

}  // namespace

Response github_pulls(Sandbox::State& s, Call& c) {
  const std::string& owner = c.seg[1];
  const std::string& repo = c.seg[2];
  std::string title = str_of(c.body, "title");
  std::string head = str_of(c.body, "head");
  std::string base = str_of(c.body, "base");
  if (title.empty()) return github_missing("PullRequest", "title");
  if (head.empty()) return github_missing("PullRequest", "head");
  if (base.empty()) return github_missing("PullRequest", "base");
  if (head == base)
    return github_error(422, "Validation Failed",
                        json::array({{{"resource", "PullRequest"},
                                      {"code", "custom"},
                                      {"message", "No commits between " + base + " and " + head}}}));
  int64_t number = ++s.github_pr_numbers[owner + "/" + repo];
  std::string slug = owner + "/" + repo;
  uint64_t id = s.next_id();
  // Written in place, keys in order (engine/json/json_writer.h).
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  w.key("base").begin_object().key("label").string(owner + ":" + base).key("ref").string(base);
  w.end_object();
  w.key("body").string(str_of(c.body, "body")).key("draft").boolean(false);
  w.key("head").begin_object().key("label").string(owner + ":" + head).key("ref").string(head);
  w.end_object();
  w.key("html_url").string("https://github.com/" + slug + "/pull/" + std::to_string(number));
  w.key("id").number(1'000'000 + static_cast<int64_t>(id));
  w.key("merged").boolean(false).key("node_id").string("PR_" + hex_id(id, 16));
  w.key("number").number(number).key("state").string("open").key("title").string(title);
  w.key("url").string("https://api.github.com/repos/" + slug + "/pulls/" + std::to_string(number));
  w.end_object();
  return Response::json(201, std::move(body));
}

Response github_put_contents(Sandbox::State& s, Call& c) {
  const std::string slug = c.seg[1] + "/" + c.seg[2];
  std::string path = contents_path(c);
  std::string message = str_of(c.body, "message");
  auto* content = obj_of(c.body, "content");
  if (message.empty()) return github_missing("Commit", "message");
  if (!content || !content->is_string()) return github_missing("Commit", "content");
  const std::string& b64 = content->get_ref<const std::string&>();
  if (!looks_base64(b64)) return github_error(422, "content is not valid Base64");
  std::string sha = str_of(c.body, "sha");
  std::string branch = str_of(c.body, "branch");
  if (branch.empty()) branch = "main";
  std::string key = slug + "/" + path;
  auto it = s.github_files.find(key);
  bool created = it == s.github_files.end();
  // Replacing a file needs the blob sha of the file replaced.
  if (!created && sha.empty())
    return github_error(422, "Invalid request.\n\n\"sha\" wasn't supplied.");
  if (!created && sha != it->second.sha) return github_error(409, path + " does not match " + sha);
  uint64_t n = s.next_id();
  GitFile file{hex_id(fnv1a(b64), 40, n), base64_decoded_size(b64)};
  std::string commit_sha = hex_id(n, 40, 0xc0ffee);
  std::string name = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  // Written in place, keys in order (engine/json/json_writer.h).
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("commit").begin_object();
  w.key("html_url").string("https://github.com/" + slug + "/commit/" + commit_sha);
  w.key("message").string(message).key("sha").string(commit_sha);
  w.end_object();
  w.key("content").begin_object();
  w.key("download_url").string("https://raw.githubusercontent.com/" + slug + "/" + branch + "/" +
                               path);
  w.key("html_url").string("https://github.com/" + slug + "/blob/" + branch + "/" + path);
  w.key("name").string(name).key("path").string(path).key("sha").string(file.sha);
  w.key("size").number(static_cast<std::int64_t>(file.size)).key("type").string("file");
  w.key("url").string("https://api.github.com/repos/" + slug + "/contents/" + path);
  w.end_object().end_object();
  s.github_files[key] = std::move(file);
  return Response::json(created ? 201 : 200, std::move(body));
}

Response github_delete_contents(Sandbox::State& s, Call& c) {
  const std::string slug = c.seg[1] + "/" + c.seg[2];
  std::string path = contents_path(c);
  std::string message = str_of(c.body, "message");
  std::string sha = str_of(c.body, "sha");
  if (message.empty()) return github_missing("Commit", "message");
  if (sha.empty()) return github_missing("Commit", "sha");
  auto it = s.github_files.find(slug + "/" + path);
  if (it == s.github_files.end()) return github_error(404, "Not Found");
  if (it->second.sha != sha) return github_error(409, path + " does not match " + sha);
  s.github_files.erase(it);
  std::string commit_sha = hex_id(s.next_id(), 40, 0xc0ffee);
  return json_response(200, {{"content", nullptr},
                             {"commit",
                              {{"sha", commit_sha},
                               {"message", message},
                               {"html_url", "https://github.com/" + slug + "/commit/" + commit_sha}}}});
}

Response github_get_contents(Sandbox::State& s, Call& c) {
  const std::string slug = c.seg[1] + "/" + c.seg[2];
  std::string path = contents_path(c);
  auto it = s.github_files.find(slug + "/" + path);
  if (it == s.github_files.end()) return github_error(404, "Not Found");
  return json_response(200, {{"type", "file"},
                             {"path", path},
                             {"sha", it->second.sha},
                             {"size", it->second.size},
                             {"html_url", "https://github.com/" + slug + "/blob/main/" + path}});
}

}  // namespace orch::sandbox
