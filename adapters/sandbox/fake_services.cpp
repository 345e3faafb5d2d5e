// The fake services: request validation, stored objects and response shapes
// modelled on each real public API. Every handler runs with State::mu held
// and only builds a Response; the ledger, the idempotency cache, faults and
// latency are handled by sandbox.cpp.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/sandbox/sandbox_state.h"
#include "adapters/services/json_projection.h"
#include "engine/json/json_object.h"
#include "engine/json/json_text.h"
#include "engine/json/json_writer.h"

namespace orch::sandbox {

using nlohmann::json;
using http::Response;

// ---------------------------------------------------------------------------
// Shared helpers

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
}

bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

const char* reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
  }
}

std::string str_of(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

const json* obj_of(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  if (it == j.end()) return nullptr;
  return &*it;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string rfc2822(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string slugify(std::string_view s) {
  std::string out;
  bool dash = false;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      if (dash && !out.empty()) out.push_back('-');
      dash = false;
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else {
      dash = true;
    }
  }
  return out.empty() ? std::string("dashboard") : out;
}

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string uuid_of(uint64_t a, uint64_t b) {
  std::string h = hex_id(a, 16) + hex_id(b, 16);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" +
         h.substr(16, 4) + "-" + h.substr(20, 12);
}

}  // namespace

uint64_t fnv1a(std::string_view s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string hex_id(uint64_t n, std::size_t len, uint64_t salt) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len);
  uint64_t x = n ^ (salt * 0x9e3779b97f4a7c15ULL);
  while (out.size() < len) {
    // splitmix64 step: distinct inputs give distinct, random-looking outputs.
    x += 0x9e3779b97f4a7c15ULL;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (int i = 0; i < 16 && out.size() < len; ++i) {
      out.push_back(kHex[z & 0xf]);
      z >>= 4;
    }
  }
  return out;
}

std::string path_decode(std::string_view in) {
  if (in.find('%') == std::string_view::npos) return std::string(in);
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() &&
        hex_digit(in[i + 1]) >= 0 && hex_digit(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(in[i + 1]) * 16 + hex_digit(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    if (i >= path.size()) break;
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path_decode(path.substr(i, j - i)));
    i = j;
  }
  return out;
}

FormFields parse_form(std::string_view body) {
  FormFields out;
  while (!body.empty()) {
    auto amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      if (eq == std::string_view::npos) {
        out.emplace_back(http::percent_decode(pair), std::string());
      } else {
        out.emplace_back(http::percent_decode(pair.substr(0, eq)),
                         http::percent_decode(pair.substr(eq + 1)));
      }
    }
    if (amp == std::string_view::npos) break;
    body = body.substr(amp + 1);
  }
  return out;
}

Response json_response(int status, const json& body) {
  return Response::json(status, dump_json(body));
}

Response problem(int status, std::string_view detail) {
  json j = {{"type", "about:blank"},
            {"title", reason(status)},
            {"status", status},
            {"detail", std::string(detail)}};
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/problem+json");
  r.body = dump_json(j);
  return r;
}

std::optional<std::string> Call::field(std::string_view name) const {
  if (is_form) {
    for (const auto& [k, v] : form)
      if (k == name) return v;
    return std::nullopt;
  }
  if (!body.is_object()) return std::nullopt;
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number() || it->is_boolean()) return it->dump();
  return std::nullopt;
}

std::vector<std::string> Call::fields(std::string_view name) const {
  std::vector<std::string> out;
  if (is_form) {
    for (const auto& [k, v] : form)
      if (k == name) out.push_back(v);
    return out;
  }
  if (!body.is_object()) return out;
  auto it = body.find(name);
  if (it == body.end()) return out;
  if (it->is_string()) {
    out.push_back(it->get<std::string>());
  } else if (it->is_array()) {
    for (const auto& v : *it)
      if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

void Sandbox::State::clear() {
  ledger.clear();
  by_key.clear();
  by_workflow.clear();
  effects = compensations = replays = faults_injected = workflows = 0;
  faults.clear();
  next_fault_id = 1;
  id_counter = 0;
  memories.clear();
  figma_assets.clear();
  github_pr_numbers.clear();
  github_files.clear();
  sendgrid_batches.clear();
  sendgrid_messages.clear();
  sendgrid_message_order.clear();
  buffer_updates.clear();
  dashboards.clear();
  dashboard_ids = 0;
  twilio_messages.clear();
  fcm_messages.clear();
  reserve();
}

void Sandbox::State::reserve() {
  by_key.reserve(1 << 16);
  by_workflow.reserve(256);
}

// ---------------------------------------------------------------------------
// Auth

namespace {

std::string_view bearer_token(const http::Request& req) {
  auto h = req.header("Authorization");
  if (!h) return {};
  std::string_view v = *h;
  if (v.size() > 7 && (starts_with(v, "Bearer ") || starts_with(v, "bearer ")))
    return v.substr(7);
  return {};
}

bool has_scheme(const http::Request& req, std::string_view scheme) {
  auto h = req.header("Authorization");
  return h && h->size() > scheme.size() && starts_with(*h, scheme);
}

}  // namespace

std::optional<Response> check_auth(AuthKind auth, const http::Request& req) {
  switch (auth) {
    case AuthKind::none:
      return std::nullopt;
    case AuthKind::bearer:
      if (!bearer_token(req).empty()) return std::nullopt;
      return problem(401, "missing bearer token");
    case AuthKind::notion:
      if (bearer_token(req).empty())
        return json_response(401, {{"object", "error"},
                                   {"status", 401},
                                   {"code", "unauthorized"},
                                   {"message", "API token is invalid."}});
      if (!req.header("Notion-Version"))
        return json_response(
            400, {{"object", "error"},
                  {"status", 400},
                  {"code", "missing_version"},
                  {"message", "Notion-Version header failed validation: Notion-Version "
                              "header should be defined, instead was `undefined`."}});
      return std::nullopt;
    case AuthKind::figma: {
      auto t = req.header("X-Figma-Token");
      if ((t && !t->empty()) || !bearer_token(req).empty()) return std::nullopt;
      return json_response(403, {{"status", 403}, {"err", "Invalid token"}});
    }
    case AuthKind::slack:
      if (!bearer_token(req).empty()) return std::nullopt;
      return json_response(200, {{"ok", false}, {"error", "not_authed"}});
    case AuthKind::twilio:
      if (has_scheme(req, "Basic ")) return std::nullopt;
      return json_response(401, {{"code", 20003},
                                 {"message", "Authenticate"},
                                 {"more_info", "https://www.twilio.com/docs/errors/20003"},
                                 {"status", 401}});
    case AuthKind::google:
      if (!bearer_token(req).empty()) return std::nullopt;
      return json_response(
          401, {{"error",
                 {{"code", 401},
                  {"message", "Request is missing required authentication credential."},
                  {"status", "UNAUTHENTICATED"}}}});
    case AuthKind::github:
      if (!bearer_token(req).empty() || has_scheme(req, "token ")) return std::nullopt;
      return json_response(401, {{"message", "Requires authentication"},
                                 {"documentation_url", "https://docs.github.com/rest"}});
    case AuthKind::sendgrid:
      if (!bearer_token(req).empty()) return std::nullopt;
      return json_response(
          401, {{"errors", json::array({{{"field", nullptr},
                                         {"message", "authorization required"}}})}});
    case AuthKind::grafana:
      if (!bearer_token(req).empty() || has_scheme(req, "Basic ")) return std::nullopt;
      return json_response(401, {{"message", "Unauthorized"}});
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Notion

namespace {

Response notion_search(Sandbox::State&, Call& c) {
  std::string query = str_of(c.body, "query");
  int page_size = 3;
  if (auto* ps = obj_of(c.body, "page_size"); ps && ps->is_number_integer())
    page_size = std::clamp(ps->get<int>(), 1, 100);
  static constexpr const char* kTopics[] = {"market research", "audience insights",
                                            "competitor analysis"};
  // Written in place, keys in order (engine/json/json_writer.h): what dump_json
  // of Notion's page list would give, without building it first.
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  w.key("has_more").boolean(false).key("next_cursor").null().key("object").string("list");
  w.key("page_or_database").begin_object().end_object();
  w.key("results").begin_array();
  int n = std::min(page_size, 3);
  uint64_t qh = fnv1a(query);
  for (int i = 0; i < n; ++i) {
    std::string title = query.empty() ? std::string("Research notes: ") + kTopics[i]
                                      : query + " - " + kTopics[i];
    std::string id = uuid_of(qh, static_cast<uint64_t>(i));
    std::string compact;
    for (char ch : id)
      if (ch != '-') compact.push_back(ch);
    std::string url = "https://www.notion.so/" + slugify(title) + "-" + compact;
    w.begin_object();
    w.key("archived").boolean(false);
    w.key("created_time").string("2024-01-15T09:00:00.000Z");
    w.key("id").string(id);
    w.key("last_edited_time").string("2024-03-01T12:30:00.000Z");
    w.key("object").string("page");
    w.key("properties").begin_object().key("title").begin_object();
    w.key("id").string("title");
    w.key("title").begin_array().begin_object();  // rich text
    w.key("href").null().key("plain_text").string(title);
    w.key("text").begin_object().key("content").string(title).key("link").null().end_object();
    w.key("type").string("text");
    w.end_object().end_array();
    w.key("type").string("title");
    w.end_object().end_object();
    w.key("url").string(url);
    w.end_object();
  }
  w.end_array();
  w.key("type").string("page_or_database");
  w.end_object();
  return Response::json(200, std::move(body));
}

// ---------------------------------------------------------------------------
// Tool service

Response tool_scrape(Sandbox::State&, Call& c) {
  std::string url = str_of(c.body, "url");
  if (url.empty()) return json_response(400, {{"error", "url is required"}});
  std::string_view u(url);
  std::size_t scheme = u.find("://");
  if (scheme == std::string_view::npos ||
      !(u.substr(0, scheme) == "http" || u.substr(0, scheme) == "https"))
    return json_response(422, {{"error", "url must be http(s)"}, {"url", url}});
  std::string_view host = u.substr(scheme + 3);
  host = host.substr(0, host.find_first_of("/?#"));
  if (host.empty()) return json_response(422, {{"error", "url has no host"}, {"url", url}});
  std::string h(host);
  std::string title = h + " | Product, pricing and customers";
  std::string text = "Snapshot of " + url + ". " + h +
                     " highlights faster onboarding, usage-based pricing from $29/month "
                     "and case studies from mid-market teams. Latest announcement: an "
                     "AI assistant for campaign planning.";
  return json_response(200, json_object("url", url,
                                        "title", std::move(title),
                                        "text", std::move(text),
                                        "status_code", 200,
                                        "content_type", "text/html; charset=utf-8"));
}

// ---------------------------------------------------------------------------
// Memory gateway

Response memory_recall(Sandbox::State& s, Call& c) {
  std::string query = str_of(c.body, "query");
  std::size_t limit = 10;
  if (auto* l = obj_of(c.body, "limit"); l && l->is_number_integer() && l->get<int>() > 0)
    limit = static_cast<std::size_t>(l->get<int>());
  json mems = json::array();
  for (auto it = s.memories.lower_bound(query);
       it != s.memories.end() && mems.size() < limit && starts_with(it->first, query); ++it) {
    mems.push_back(json_object("key", it->first, "value", it->second, "score", 1.0));
  }
  return json_response(200, json_object("memories", std::move(mems), "query", query));
}

Response memory_remember(Sandbox::State& s, Call& c) {
  std::string key = str_of(c.body, "key");
  if (key.empty()) return json_response(400, {{"error", "key is required"}});
  json value;
  if (auto* v = obj_of(c.body, "value")) value = *v;
  s.memories[key] = std::move(value);
  return json_response(200, {{"key", key}, {"stored", true}});
}

Response memory_forget(Sandbox::State& s, Call& c) {
  const std::string& key = c.seg[2];
  auto it = s.memories.find(key);
  if (it == s.memories.end())
    return json_response(404, {{"error", "memory not found"}, {"key", key}});
  s.memories.erase(it);
  return json_response(200, {{"key", key}, {"deleted", true}});
}

// ---------------------------------------------------------------------------
// OpenAI-compatible chat completions

std::string message_text(const json& m) {
  auto* content = obj_of(m, "content");
  if (!content) return {};
  if (content->is_string()) return content->get<std::string>();
  std::string out;
  if (content->is_array()) {
    for (const auto& part : *content) out += str_of(part, "text");
  }
  return out;
}

// The campaign topic: the "campaign_name" (or campaign/name/topic/product)
// of a JSON prompt, a "Campaign: X" / "campaign_name: X" line, else the first
// non-empty line of the prompt.
std::string topic_of(const std::string& prompt) {
  std::size_t brace = prompt.find_first_not_of(" \t\r\n");
  if (brace != std::string::npos && prompt[brace] == '{') {
    static constexpr const char* kKeys[] = {"campaign_name", "campaign", "name", "topic",
                                            "product"};  // in order of preference
    static const adapters::JsonProjection kTopics(
        std::vector<std::string_view>(std::begin(kKeys), std::end(kKeys)));
    json j;
    if (kTopics.parse(prompt, j) && j.is_object()) {
      for (const char* k : kKeys) {
        std::string t = trim(str_of(j, k));
        if (!t.empty()) return t.substr(0, 80);
      }
    }
  }
  std::string first;
  std::size_t pos = 0;
  while (pos <= prompt.size()) {
    std::size_t nl = prompt.find('\n', pos);
    if (nl == std::string::npos) nl = prompt.size();
    std::string line = trim(std::string_view(prompt).substr(pos, nl - pos));
    std::string lower;
    for (char ch : line) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    for (const char* label : {"campaign name:", "campaign_name:", "campaign:"}) {
      if (starts_with(lower, label)) {
        std::string t = trim(std::string_view(line).substr(std::string_view(label).size()));
        if (!t.empty()) return t.substr(0, 80);
      }
    }
    if (first.empty() && !line.empty()) first = line;
    pos = nl + 1;
  }
  if (first.empty()) first = "Our new release";
  return first.substr(0, 80);
}

Response slm_chat(Sandbox::State& s, Call& c) {
  auto openai_error = [](int status, const std::string& msg, const char* param) {
    return json_response(status, {{"error",
                                   {{"message", msg},
                                    {"type", "invalid_request_error"},
                                    {"param", param ? json(param) : json(nullptr)},
                                    {"code", nullptr}}}});
  };
  std::string model = str_of(c.body, "model");
  if (model.empty()) return openai_error(400, "you must provide a model parameter", "model");
  auto* messages = obj_of(c.body, "messages");
  if (!messages || !messages->is_array() || messages->empty())
    return openai_error(400, "'messages' must be a non-empty array", "messages");
  if (auto* st = obj_of(c.body, "stream"); st && st->is_boolean() && st->get<bool>())
    return openai_error(400, "streaming is not supported by the sandbox", "stream");
  std::string user, all;
  for (const auto& m : *messages) {
    std::string text = message_text(m);
    all += text;
    all.push_back('\n');
    if (str_of(m, "role") == "user") user = text;
  }
  std::string topic = topic_of(user.empty() ? all : user);
  // ASCII lower case, as std::tolower in the "C" locale the sandbox runs in;
  // one pass over a sized string (prompts run to kilobytes).
  std::string lower_all(all.size(), '\0');
  std::transform(all.begin(), all.end(), lower_all.begin(), [](char ch) {
    return (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
  });
  // "Tone: X" decides; otherwise any mention of a known tone.
  std::string_view tone_text(lower_all);
  if (auto t = lower_all.find("tone:"); t != std::string::npos)
    tone_text = tone_text.substr(t, 32);
  std::string tone = tone_text.find("casual") != std::string_view::npos      ? "casual"
                     : tone_text.find("technical") != std::string_view::npos ? "technical"
                                                                              : "professional";
  std::string hook = tone == "casual"      ? "Say hello to"
                     : tone == "technical" ? "Under the hood of"
                                           : "Introducing";
  // The completion and the answer, written in place with their keys in
  // order (engine/json/json_writer.h): the same text as dump_json of the trees.
  std::string text;
  JsonWriter(text)
      .begin_object()
      .key("blog_outline").string("1. Why " + topic + "\n2. What's new\n3. How teams use it\n4. Getting started")
      .key("email_body").string("Hi there,\n\n" + topic +
                                " is here. It helps your team plan, launch and measure "
                                "campaigns in one place.\n\nSee what's new and get started "
                                "today.\n\nThe Team")
      .key("email_subject").string(hook + " " + topic)
      .key("headline").string(hook + " " + topic)
      .key("social_post").string(topic + " is live! Plan, launch and measure in one place. #launch")
      .key("tagline").string(topic + ": less busywork, more results.")
      .end_object();
  int prompt_tokens = static_cast<int>(all.size() / 4) + 1;
  int completion_tokens = static_cast<int>(text.size() / 4) + 1;
  uint64_t n = s.next_id();
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  w.key("choices").begin_array().begin_object();
  w.key("finish_reason").string("stop").key("index").number(0).key("logprobs").null();
  w.key("message").begin_object().key("content").string(text).key("role").string("assistant");
  w.end_object().end_object().end_array();
  w.key("created").number(1'700'000'000 + static_cast<int64_t>(n));
  w.key("id").string("chatcmpl-" + hex_id(n, 24, fnv1a(all)));
  w.key("model").string(model).key("object").string("chat.completion");
  w.key("system_fingerprint").string("fp_sandbox");
  w.key("usage").begin_object();
  w.key("completion_tokens").number(completion_tokens).key("prompt_tokens").number(prompt_tokens);
  w.key("total_tokens").number(prompt_tokens + completion_tokens);
  w.end_object().end_object();
  return Response::json(200, std::move(body));
}

// ---------------------------------------------------------------------------
// Figma

Response figma_images(Sandbox::State& s, Call& c) {
  const std::string& file_key = c.seg[2];
  auto ids = c.req.query_param("ids");
  if (!ids || ids->empty())
    return json_response(400, {{"status", 400}, {"err", "Missing required parameter: ids"}});
  std::string format = c.req.query_param("format").value_or("png");
  if (format != "png" && format != "jpg" && format != "svg" && format != "pdf")
    return json_response(400, {{"status", 400}, {"err", "Invalid format: " + format}});
  std::map<std::string, std::string> images;  // by node id, in key order; a repeated id: the last
  std::string_view rest(*ids);
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string node = trim(rest.substr(0, comma));
    if (!node.empty()) {
      std::string asset = "img_" + hex_id(s.next_id(), 16, fnv1a(file_key));
      s.figma_assets[asset] = file_key;
      images[node] = "https://figma-sandbox.local/images/" + asset + "." + format;
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  if (images.empty())
    return json_response(400, {{"status", 400}, {"err", "Missing required parameter: ids"}});
  // Written in place, keys in order (engine/json/json_writer.h).
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("err").null().key("images").begin_object();
  for (const auto& [node, url] : images) w.key(node).string(url);
  w.end_object().end_object();
  return Response::json(200, std::move(body));
}

Response figma_delete(Sandbox::State& s, Call& c) {
  const std::string& file_key = c.seg[2];
  const std::string& asset = c.seg[3];
  auto it = s.figma_assets.find(asset);
  if (it == s.figma_assets.end() || it->second != file_key)
    return json_response(404, {{"status", 404}, {"err", "Not found"}});
  s.figma_assets.erase(it);
  return json_response(200, {{"err", nullptr}, {"id", asset}, {"deleted", true}});
}

// ---------------------------------------------------------------------------
// GitHub

constexpr const char* kGitHubDocs = "https://docs.github.com/rest";

// GitHub's error body; "status" is the HTTP status as a string, as GitHub
// has sent it since 2023.
Response github_error(int status, const std::string& message, json errors = nullptr) {
  json j = {
      {"message", message}, {"documentation_url", kGitHubDocs}, {"status", std::to_string(status)}};
  if (!errors.is_null()) j["errors"] = std::move(errors);
  return json_response(status, j);
}

Response github_missing(const char* resource, const char* field) {
  return github_error(422, "Validation Failed",
                      json::array({{{"resource", resource},
                                    {"field", field},
                                    {"code", "missing_field"}}}));
}

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

// ---------------------------------------------------------------------------
// Slack

Response slack_fail(Call& c, const char* error) {
  c.failed = true;
  return json_response(200, {{"ok", false}, {"error", error}});
}

std::string slack_channel_id(const std::string& channel) {
  bool is_id = channel.size() >= 9 && (channel[0] == 'C' || channel[0] == 'G' || channel[0] == 'D');
  for (std::size_t i = 0; is_id && i < channel.size(); ++i)
    is_id = std::isupper(static_cast<unsigned char>(channel[i])) ||
            std::isdigit(static_cast<unsigned char>(channel[i]));
  if (is_id) return channel;
  std::string h = hex_id(fnv1a(channel), 10);
  for (auto& ch : h) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return "C" + h;
}

Response slack_post(Sandbox::State& s, Call& c) {
  std::string channel = c.field("channel").value_or("");
  std::string text = c.field("text").value_or("");
  if (channel.empty()) return slack_fail(c, "channel_not_found");
  if (text.empty() && !c.field("blocks") && !(c.body.is_object() && c.body.contains("blocks")))
    return slack_fail(c, "no_text");
  char ts[40];
  std::snprintf(ts, sizeof ts, "%lld.%06llu", static_cast<long long>(unix_now()),
                static_cast<unsigned long long>(s.next_id() % 1'000'000));
  std::string id = slack_channel_id(channel);
  // Written in place, keys in order (engine/json/json_writer.h).
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("channel").string(id);
  w.key("message").begin_object();
  w.key("bot_id").string("B0SANDBOX1").key("subtype").string("bot_message").key("text").string(text);
  w.key("ts").string(ts).key("type").string("message").key("user").string("U0SANDBOX1");
  w.end_object();
  w.key("ok").boolean(true).key("ts").string(ts);
  w.end_object();
  return Response::json(200, std::move(body));
}

// ---------------------------------------------------------------------------
// SendGrid

// How many sent emails GET /v3/messages/{msg_id} can still find.
constexpr std::size_t kSentEmailsKept = 10000;

Response sendgrid_error(int status, const std::string& field, const std::string& message) {
  return json_response(
      status, {{"errors", json::array({{{"message", message},
                                        {"field", field.empty() ? json(nullptr) : json(field)},
                                        {"help", nullptr}}})}});
}

Response sendgrid_send(Sandbox::State& s, Call& c) {
  const json& b = c.body;
  auto* pers = obj_of(b, "personalizations");
  if (!pers || !pers->is_array() || pers->empty())
    return sendgrid_error(400, "personalizations",
                          "The personalizations field is required and must have at least "
                          "one personalization.");
  bool subject_everywhere = !str_of(b, "subject").empty();
  for (const auto& p : *pers) {
    auto* to = obj_of(p, "to");
    if (!to || !to->is_array() || to->empty())
      return sendgrid_error(400, "personalizations.0.to",
                            "The to array is required for all personalization objects, "
                            "and must have at least one email object with a valid email "
                            "address.");
    for (const auto& r : *to)
      if (str_of(r, "email").find('@') == std::string::npos)
        return sendgrid_error(400, "personalizations.0.to",
                              "Does not contain a valid address.");
    if (!subject_everywhere && str_of(p, "subject").empty())
      return sendgrid_error(400, "subject",
                            "The subject is required. You can get around this requirement "
                            "if you use a template with a subject defined or if every "
                            "personalization has a subject defined.");
  }
  auto* from = obj_of(b, "from");
  if (!from || str_of(*from, "email").find('@') == std::string::npos)
    return sendgrid_error(400, "from.email",
                          "The from object must be provided for every email send. It is an "
                          "object that requires an email parameter, but may also contain a "
                          "name parameter.");
  auto* content = obj_of(b, "content");
  if (!content || !content->is_array() || content->empty())
    return sendgrid_error(400, "content",
                          "Unless a valid template_id is provided, the content parameter is "
                          "required. There must be at least one defined content block.");
  for (const auto& part : *content)
    if (str_of(part, "type").empty() || str_of(part, "value").empty())
      return sendgrid_error(400, "content.0.value",
                            "The content value must be a string at least one character in "
                            "length.");
  std::string batch = str_of(b, "batch_id");
  if (!batch.empty()) s.sendgrid_batches.emplace(batch, "scheduled");
  std::string msg_id = hex_id(s.next_id(), 22, 0x5e9d);
  const json& first = (*pers)[0];
  std::string subject = str_of(first, "subject");
  if (subject.empty()) subject = str_of(b, "subject");
  s.sendgrid_messages[msg_id] = {str_of(*from, "email"), str_of((*obj_of(first, "to"))[0], "email"),
                                 std::move(subject)};
  s.sendgrid_message_order.push_back(msg_id);
  if (s.sendgrid_message_order.size() > kSentEmailsKept) {
    s.sendgrid_messages.erase(s.sendgrid_message_order.front());
    s.sendgrid_message_order.pop_front();
  }
  Response r;
  r.status = 202;
  r.headers.emplace_back("X-Message-Id", std::move(msg_id));
  return r;
}

// GET /v3/messages/{msg_id}: what was sent, as SendGrid's Email Activity
// answers it (the fields the sandbox knows).
Response sendgrid_message(Sandbox::State& s, Call& c) {
  auto it = s.sendgrid_messages.find(c.seg[2]);
  if (it == s.sendgrid_messages.end()) return sendgrid_error(404, "msg_id", "message not found");
  const Sandbox::State::SentEmail& m = it->second;
  return json_response(200, json_object("msg_id", it->first, "from_email", m.from_email,
                                        "to_email", m.to_email, "subject", m.subject,
                                        "status", "delivered"));
}

Response sendgrid_scheduled(Sandbox::State& s, Call& c) {
  std::string batch = str_of(c.body, "batch_id");
  std::string status = str_of(c.body, "status");
  if (batch.empty()) return sendgrid_error(400, "batch_id", "batch_id is required");
  if (status != "cancel" && status != "pause")
    return sendgrid_error(400, "status", "status must be either cancel or pause");
  auto it = s.sendgrid_batches.find(batch);
  if (it == s.sendgrid_batches.end())
    return sendgrid_error(404, "batch_id", "batch id not found");
  it->second = status;
  return json_response(201, {{"batch_id", batch}, {"status", status}});
}

// ---------------------------------------------------------------------------
// Buffer

std::optional<Response> buffer_auth(const Call& c) {
  if (c.field("access_token").value_or("").empty() &&
      c.req.query_param("access_token").value_or("").empty() && bearer_token(c.req).empty())
    return json_response(401, {{"success", false},
                               {"code", 401},
                               {"message", "OAuth access token is missing or invalid."}});
  return std::nullopt;
}

Response buffer_create(Sandbox::State& s, Call& c) {
  if (auto a = buffer_auth(c)) return *a;
  std::string text = c.field("text").value_or("");
  std::vector<std::string> profiles = c.fields(c.is_form ? "profile_ids[]" : "profile_ids");
  if (profiles.empty() && c.is_form) profiles = c.fields("profile_ids");
  if (profiles.empty())
    return json_response(400, {{"success", false}, {"code", 1004},
                               {"message", "Please select at least one profile."}});
  if (text.empty())
    return json_response(400, {{"success", false}, {"code", 1005},
                               {"message", "Please include some text."}});
  std::string photo;
  if (c.is_form) {
    photo = c.field("media[photo]").value_or("");
  } else if (auto* media = obj_of(c.body, "media")) {
    photo = str_of(*media, "photo");
  }
  int64_t now = unix_now();
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < profiles.size(); ++i) {
    ids.push_back(hex_id(s.next_id(), 24, 0xb0ff));
    s.buffer_updates[ids.back()] = "buffer";
  }
  auto count = static_cast<int64_t>(s.buffer_updates.size());
  // Written in place, keys in order (engine/json/json_writer.h).
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  w.key("buffer_count").number(count);
  w.key("buffer_percentage").number(std::min<int64_t>(100, count * 10));
  w.key("success").boolean(true);
  w.key("updates").begin_array();
  for (std::size_t i = 0; i < profiles.size(); ++i) {
    w.begin_object();
    w.key("created_at").number(now).key("due_at").number(now + 3600).key("id").string(ids[i]);
    if (!photo.empty())
      w.key("media").begin_object().key("photo").string(photo).key("thumbnail").string(photo)
          .end_object();
    w.key("profile_id").string(profiles[i]).key("profile_service").string("twitter");
    w.key("status").string("buffer").key("text").string(text).key("text_formatted").string(text);
    w.key("user_id").string("sandbox-user").key("via").string("api");
    w.end_object();
  }
  w.end_array().end_object();
  return Response::json(200, std::move(body));
}

Response buffer_destroy(Sandbox::State& s, Call& c) {
  if (auto a = buffer_auth(c)) return *a;
  auto it = s.buffer_updates.find(c.seg[2]);
  if (it == s.buffer_updates.end())
    return json_response(404, {{"success", false}, {"code", 1050},
                               {"message", "Update not found."}});
  s.buffer_updates.erase(it);
  return json_response(200, {{"success", true}});
}

// ---------------------------------------------------------------------------
// Grafana

Response grafana_create(Sandbox::State& s, Call& c) {
  auto* dash = obj_of(c.body, "dashboard");
  if (!dash || !dash->is_object())
    return json_response(400, {{"message", "bad request data"}, {"status", "bad-request"}});
  std::string title = str_of(*dash, "title");
  if (title.empty())
    return json_response(400, {{"message", "Dashboard title cannot be empty"},
                               {"status", "empty-name"}});
  std::string uid = str_of(*dash, "uid");
  if (uid.empty()) uid = hex_id(s.next_id(), 14, 0x6af);
  bool overwrite = false;
  if (auto* o = obj_of(c.body, "overwrite"); o && o->is_boolean()) overwrite = o->get<bool>();
  auto it = s.dashboards.find(uid);
  Dashboard d;
  if (it != s.dashboards.end()) {
    if (!overwrite)
      return json_response(412, {{"message", "A dashboard with the same uid already exists"},
                                 {"status", "name-exists"}});
    d = it->second;
    d.version += 1;
    d.title = title;
  } else {
    d.id = ++s.dashboard_ids;
    d.title = title;
    d.version = 1;
  }
  s.dashboards[uid] = d;
  std::string slug = slugify(title);
  return json_response(200, json_object("id", d.id,
                                        "uid", uid,
                                        "url", "/d/" + uid + "/" + slug,
                                        "status", "success",
                                        "version", d.version,
                                        "slug", slug));
}

Response grafana_delete(Sandbox::State& s, Call& c) {
  auto it = s.dashboards.find(c.seg[3]);
  if (it == s.dashboards.end()) return json_response(404, {{"message", "Dashboard not found"}});
  json body = {{"title", it->second.title},
               {"message", "Dashboard " + it->second.title + " deleted"},
               {"id", it->second.id}};
  s.dashboards.erase(it);
  return json_response(200, body);
}

Response grafana_get(Sandbox::State& s, Call& c) {
  auto it = s.dashboards.find(c.seg[3]);
  if (it == s.dashboards.end()) return json_response(404, {{"message", "Dashboard not found"}});
  std::string slug = slugify(it->second.title);
  return json_response(200, {{"dashboard",
                              {{"id", it->second.id},
                               {"uid", c.seg[3]},
                               {"title", it->second.title},
                               {"version", it->second.version}}},
                             {"meta", {{"slug", slug}, {"url", "/d/" + c.seg[3] + "/" + slug}}}});
}

// ---------------------------------------------------------------------------
// Twilio

Response twilio_error(int status, int code, const std::string& message) {
  return json_response(status, {{"code", code},
                                {"message", message},
                                {"more_info", "https://www.twilio.com/docs/errors/" + std::to_string(code)},
                                {"status", status}});
}

json twilio_message(const std::string& account, const std::string& sid, const std::string& to,
                    const std::string& from, const std::string& body, const std::string& status) {
  std::string now = rfc2822(unix_now());
  return {{"sid", sid},
          {"account_sid", account},
          {"to", to},
          {"from", from},
          {"body", body},
          {"status", status},
          {"num_segments", "1"},
          {"num_media", "0"},
          {"direction", "outbound-api"},
          {"api_version", "2010-04-01"},
          {"price", nullptr},
          {"error_code", nullptr},
          {"error_message", nullptr},
          {"date_created", now},
          {"date_updated", now},
          {"uri", "/2010-04-01/Accounts/" + account + "/Messages/" + sid + ".json"}};
}

Response twilio_send(Sandbox::State& s, Call& c) {
  const std::string& account = c.seg[2];
  std::string to = c.field("To").value_or("");
  std::string from = c.field("From").value_or("");
  std::string body = c.field("Body").value_or("");
  if (to.empty()) return twilio_error(400, 21604, "A 'To' phone number is required.");
  if (from.empty() && !c.field("MessagingServiceSid"))
    return twilio_error(400, 21603, "A 'From' phone number is required.");
  if (body.empty() && !c.field("MediaUrl"))
    return twilio_error(400, 21602, "Message body is required.");
  if (!from.empty() && starts_with(to, "whatsapp:") != starts_with(from, "whatsapp:"))
    return twilio_error(400, 21910, "Invalid From and To pair. From and To should be of the same channel");
  std::string sid = "SM" + hex_id(s.next_id(), 32, 0x7a1);
  s.twilio_messages[sid] = "queued";
  return json_response(201, twilio_message(account, sid, to, from, body, "queued"));
}

std::string twilio_sid(const Call& c) {
  std::string_view f(c.seg[4]);
  return std::string(f.substr(0, f.size() - 5));  // strip ".json"
}

Response twilio_not_found(const Call& c) {
  return twilio_error(404, 20404,
                      "The requested resource " + std::string(c.req.path()) + " was not found");
}

Response twilio_update(Sandbox::State& s, Call& c) {
  std::string sid = twilio_sid(c);
  auto it = s.twilio_messages.find(sid);
  if (it == s.twilio_messages.end()) return twilio_not_found(c);
  std::string status = c.field("Status").value_or("");
  if (status != "canceled")
    return twilio_error(400, 21220, "Invalid parameter: Status must be 'canceled'");
  it->second = "canceled";
  return json_response(200, twilio_message(c.seg[2], sid, "", "", "", "canceled"));
}

Response twilio_fetch(Sandbox::State& s, Call& c) {
  std::string sid = twilio_sid(c);
  auto it = s.twilio_messages.find(sid);
  if (it == s.twilio_messages.end()) return twilio_not_found(c);
  return json_response(200, twilio_message(c.seg[2], sid, "", "", "", it->second));
}

// ---------------------------------------------------------------------------
// FCM (HTTP v1)

Response google_error(int status, const char* code, const std::string& message) {
  return json_response(status, {{"error", {{"code", status}, {"message", message}, {"status", code}}}});
}

Response fcm_send(Sandbox::State& s, Call& c) {
  const std::string& project = c.seg[2];
  auto* msg = obj_of(c.body, "message");
  if (!msg || !msg->is_object())
    return google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload: 'message' is required.");
  int targets = 0;
  for (const char* t : {"token", "topic", "condition"})
    if (!str_of(*msg, t).empty()) ++targets;
  if (targets != 1)
    return google_error(400, "INVALID_ARGUMENT",
                        "Exactly one of token, topic or condition must be specified.");
  std::string id = hex_id(s.next_id(), 16, 0xfc3);
  s.fcm_messages[id] = project;
  return json_response(200, {{"name", "projects/" + project + "/messages/" + id}});
}

Response fcm_delete(Sandbox::State& s, Call& c) {
  auto it = s.fcm_messages.find(c.seg[4]);
  if (it == s.fcm_messages.end() || it->second != c.seg[2])
    return google_error(404, "NOT_FOUND", "Requested entity was not found.");
  s.fcm_messages.erase(it);
  return json_response(200, json::object());
}

// ---------------------------------------------------------------------------
// Each service's own error body (fault injection with "error")

const char* google_status(int status) {
  switch (status) {
    case 400:
      return "INVALID_ARGUMENT";
    case 401:
      return "UNAUTHENTICATED";
    case 403:
      return "PERMISSION_DENIED";
    case 404:
      return "NOT_FOUND";
    case 409:
      return "ABORTED";
    case 429:
      return "RESOURCE_EXHAUSTED";
    case 501:
      return "UNIMPLEMENTED";
    case 503:
      return "UNAVAILABLE";
    case 504:
      return "DEADLINE_EXCEEDED";
    default:
      return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

// FCM's ErrorCode for an HTTP status (FCM v1 reference, ErrorCode).
const char* fcm_error_code(int status) {
  switch (status) {
    case 400:
      return "INVALID_ARGUMENT";
    case 401:
      return "THIRD_PARTY_AUTH_ERROR";
    case 403:
      return "SENDER_ID_MISMATCH";
    case 404:
      return "UNREGISTERED";
    case 429:
      return "QUOTA_EXCEEDED";
    case 503:
      return "UNAVAILABLE";
    default:
      return status >= 500 ? "INTERNAL" : "UNSPECIFIED_ERROR";
  }
}

// Notion's "code" for an HTTP status (Notion reference, status codes).
const char* notion_code(int status) {
  switch (status) {
    case 401:
      return "unauthorized";
    case 403:
      return "restricted_resource";
    case 404:
      return "object_not_found";
    case 409:
      return "conflict_error";
    case 429:
      return "rate_limited";
    case 503:
      return "service_unavailable";
    case 504:
      return "gateway_timeout";
    default:
      return status >= 500 ? "internal_server_error" : "validation_error";
  }
}

// Twilio's error code for an HTTP status: the documented generic ones.
int twilio_code(int status) {
  switch (status) {
    case 401:
      return 20003;  // Authenticate
    case 404:
      return 20404;  // Not Found
    case 429:
      return 20429;  // Too Many Requests
    default:
      return status >= 500 ? 20500 : 21211;  // Internal Server Error; Invalid 'To'
  }
}

}  // namespace

Response service_error(std::string_view service, int status, const std::string& reason) {
  if (service == "slack") return json_response(status, {{"ok", false}, {"error", reason}});
  if (service == "sendgrid") return sendgrid_error(status, "", reason);
  if (service == "github") return github_error(status, reason);
  if (service == "notion")
    return json_response(status, {{"object", "error"},
                                  {"status", status},
                                  {"code", notion_code(status)},
                                  {"message", reason}});
  if (service == "figma") return json_response(status, {{"status", status}, {"err", reason}});
  if (service == "slm")
    return json_response(status,
                         {{"error",
                           {{"message", reason},
                            {"type", status >= 500 ? "server_error" : "invalid_request_error"},
                            {"param", nullptr},
                            {"code", nullptr}}}});
  if (service == "twilio") return twilio_error(status, twilio_code(status), reason);
  if (service == "fcm")
    return json_response(
        status, {{"error",
                  {{"code", status},
                   {"message", reason},
                   {"status", google_status(status)},
                   {"details",
                    json::array({{{"@type", "type.googleapis.com/google.firebase.fcm.v1.FcmError"},
                                  {"errorCode", fcm_error_code(status)}}})}}}});
  if (service == "buffer")
    return json_response(status, {{"success", false}, {"code", status}, {"message", reason}});
  if (service == "grafana") return json_response(status, {{"message", reason}});
  return json_response(status, {{"error", reason}});  // tool_service, memory_gateway
}

namespace {

// ---------------------------------------------------------------------------
// Routing

struct MethodRoute {
  const char* method;
  ServiceHandler handler;
  BodyKind body;
};

RouteMatch pick(std::string_view method, const char* service, AuthKind auth,
                std::initializer_list<MethodRoute> routes) {
  RouteMatch m;
  for (const auto& r : routes) {
    if (method == r.method) {
      m.service = service;
      m.handler = r.handler;
      m.body = r.body;
      m.auth = auth;
      return m;
    }
  }
  m.error = 405;
  for (const auto& r : routes) {
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += r.method;
  }
  return m;
}

RouteMatch not_found() {
  RouteMatch m;
  m.error = 404;
  return m;
}

}  // namespace

RouteMatch match_service_route(std::string_view method, const std::vector<std::string>& s) {
  const std::size_t n = s.size();
  if (n < 2) return not_found();
  const std::string& a = s[0];
  if (a == "v1") {
    const std::string& b = s[1];
    if (n == 2 && b == "search")
      return pick(method, "notion", AuthKind::notion, {{"POST", notion_search, BodyKind::json}});
    if (n == 3 && b == "tools" && s[2] == "scrape")
      return pick(method, "tool_service", AuthKind::none, {{"POST", tool_scrape, BodyKind::json}});
    if (n == 2 && b == "recall")
      return pick(method, "memory_gateway", AuthKind::none,
                  {{"POST", memory_recall, BodyKind::json}});
    if (n == 2 && b == "remember")
      return pick(method, "memory_gateway", AuthKind::none,
                  {{"POST", memory_remember, BodyKind::json}});
    if (n == 3 && b == "memories")
      return pick(method, "memory_gateway", AuthKind::none,
                  {{"DELETE", memory_forget, BodyKind::none}});
    if (n == 3 && b == "chat" && s[2] == "completions")
      return pick(method, "slm", AuthKind::none, {{"POST", slm_chat, BodyKind::json}});
    if (b == "images" && n == 3)
      return pick(method, "figma", AuthKind::figma, {{"GET", figma_images, BodyKind::none}});
    if (b == "images" && n == 4)
      return pick(method, "figma", AuthKind::figma, {{"DELETE", figma_delete, BodyKind::none}});
    if (b == "projects" && n == 4 && s[3] == "messages:send")
      return pick(method, "fcm", AuthKind::google, {{"POST", fcm_send, BodyKind::json}});
    if (b == "projects" && n == 5 && s[3] == "messages")
      return pick(method, "fcm", AuthKind::google, {{"DELETE", fcm_delete, BodyKind::none}});
    return not_found();
  }
  if (a == "repos" && n >= 4) {
    if (n == 4 && s[3] == "pulls")
      return pick(method, "github", AuthKind::github, {{"POST", github_pulls, BodyKind::json}});
    if (n >= 5 && s[3] == "contents")
      return pick(method, "github", AuthKind::github,
                  {{"PUT", github_put_contents, BodyKind::json},
                   {"DELETE", github_delete_contents, BodyKind::json},
                   {"GET", github_get_contents, BodyKind::none}});
    return not_found();
  }
  if (a == "api") {
    if (n == 2 && s[1] == "chat.postMessage")
      return pick(method, "slack", AuthKind::slack, {{"POST", slack_post, BodyKind::form_or_json}});
    if (n == 3 && s[1] == "dashboards" && s[2] == "db")
      return pick(method, "grafana", AuthKind::grafana, {{"POST", grafana_create, BodyKind::json}});
    if (n == 4 && s[1] == "dashboards" && s[2] == "uid")
      return pick(method, "grafana", AuthKind::grafana,
                  {{"DELETE", grafana_delete, BodyKind::none}, {"GET", grafana_get, BodyKind::none}});
    return not_found();
  }
  if (a == "v3") {
    if (n == 3 && s[1] == "mail" && s[2] == "send")
      return pick(method, "sendgrid", AuthKind::sendgrid, {{"POST", sendgrid_send, BodyKind::json}});
    if (n == 3 && s[1] == "user" && s[2] == "scheduled_sends")
      return pick(method, "sendgrid", AuthKind::sendgrid,
                  {{"POST", sendgrid_scheduled, BodyKind::json}});
    if (n == 3 && s[1] == "messages")
      return pick(method, "sendgrid", AuthKind::sendgrid,
                  {{"GET", sendgrid_message, BodyKind::none}});
    return not_found();
  }
  if (a == "1" && n >= 3 && s[1] == "updates") {
    if (n == 3 && s[2] == "create.json")
      return pick(method, "buffer", AuthKind::none, {{"POST", buffer_create, BodyKind::form_or_json}});
    if (n == 4 && s[3] == "destroy.json")
      return pick(method, "buffer", AuthKind::none,
                  {{"POST", buffer_destroy, BodyKind::form_or_json}});
    return not_found();
  }
  if (a == "2010-04-01" && n >= 4 && s[1] == "Accounts") {
    if (n == 4 && s[3] == "Messages.json")
      return pick(method, "twilio", AuthKind::twilio, {{"POST", twilio_send, BodyKind::form_or_json}});
    if (n == 5 && s[3] == "Messages" && ends_with(s[4], ".json") && s[4].size() > 5)
      return pick(method, "twilio", AuthKind::twilio,
                  {{"POST", twilio_update, BodyKind::form_or_json},
                   {"GET", twilio_fetch, BodyKind::none}});
    return not_found();
  }
  return not_found();
}

}  // namespace orch::sandbox
