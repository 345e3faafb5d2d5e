#include "adapters/services/openai_adapter.h"
#include "engine/json/json_object.h"
#include "engine/json/json_writer.h"

#include <optional>
#include <utility>

namespace orch::adapters {

using nlohmann::json;

OpenAiAdapter::OpenAiAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint)
    : ServiceAdapter(transport, "slm", std::move(endpoint)) {}

void OpenAiAdapter::complete(const phases::CallContext& ctx, const std::string& system_prompt,
                             const std::string& user_prompt, phases::ServiceCallback done) {
  std::string model = setting("model", "campaign-writer");
  std::optional<double> temperature;
  if (std::string t = setting("temperature"); !t.empty()) {
    try {
      temperature = std::stod(t);
    } catch (const std::exception&) {
    }
  }
  Exchange ex;
  ex.method = "POST";
  ex.target = "/v1/chat/completions";
  // Written in place, keys in order (see engine/json/json_writer.h): the prompts
  // are long and are not copied into a tree first.
  JsonWriter w(ex.body);
  w.begin_object().key("messages").begin_array();
  if (!system_prompt.empty())
    w.begin_object().key("content").string(system_prompt).key("role").string("system").end_object();
  w.begin_object().key("content").string(user_prompt).key("role").string("user").end_object();
  w.end_array().key("model").string(model);
  if (temperature) w.key("temperature").value(*temperature);
  w.end_object();
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
