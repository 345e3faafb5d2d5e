#include "adapters/openai_adapter.h"
#include "engine/json_text.h"
#include "engine/json_object.h"

#include <utility>

namespace orch::adapters {

using nlohmann::json;

OpenAiAdapter::OpenAiAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint)
    : ServiceAdapter(transport, "slm", std::move(endpoint)) {}

void OpenAiAdapter::complete(const phases::CallContext& ctx, const std::string& system_prompt,
                             const std::string& user_prompt, phases::ServiceCallback done) {
  std::string model = setting("model", "campaign-writer");
  json messages = json::array();
  if (!system_prompt.empty())
    messages.push_back(json_object("role", "system", "content", system_prompt));
  messages.push_back(json_object("role", "user", "content", user_prompt));
  json body = json_object("model", model, "messages", std::move(messages));
  if (std::string t = setting("temperature"); !t.empty()) {
    try {
      body["temperature"] = std::stod(t);
    } catch (const std::exception&) {
    }
  }
  Exchange ex;
  ex.method = "POST";
  ex.target = "/v1/chat/completions";
  ex.body = dump_json(body);
  add_bearer(ex.headers);
  execute(ctx, std::move(ex),
          [model](const http::Response& res, phases::ServiceResult& out) {
            json b;
            static const JsonProjection kFields{"choices/*/message/content", "model",
                                                "usage/total_tokens"};
            if (!parse_object(res, kFields, b, out)) return;
            auto choices = b.find("choices");
            if (choices == b.end() || !choices->is_array() || choices->empty())
              return reject(out, "unusable response body: no choices");
            const json& first = (*choices)[0];
            auto msg = first.find("message");
            if (msg == first.end() || !msg->is_object())
              return reject(out, "unusable response body: no message");
            auto content = msg->find("content");
            if (content == msg->end() || !content->is_string())
              return reject(out, "unusable response body: no message content");
            int64_t tokens = 0;
            if (auto usage = b.find("usage"); usage != b.end() && usage->is_object()) {
              if (auto t = usage->find("total_tokens"); t != usage->end() && t->is_number_integer())
                tokens = t->get<int64_t>();
            }
            std::string used = json_string(b, "model");
            out.value = json_object("text", content->get<std::string>(), "model",
                                    used.empty() ? model : used, "tokens_used", tokens);
          },
          std::move(done));
}

}  // namespace orch::adapters
