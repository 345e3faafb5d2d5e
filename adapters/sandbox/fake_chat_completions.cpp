// OpenAI-compatible chat completions: POST /v1/chat/completions, whose
// content is a JSON string of campaign copy derived from the prompt's topic.
#include <algorithm>
#include <cctype>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/sandbox/fake_services.h"
#include "adapters/services/json_projection.h"
#include "engine/json/json_writer.h"

namespace orch::sandbox {

using nlohmann::json;
using http::Response;

namespace {

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

}  // namespace

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

}  // namespace orch::sandbox
