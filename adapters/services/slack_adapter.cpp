#include "adapters/services/slack_adapter.h"
#include "engine/json/json_object.h"
#include "engine/json/json_writer.h"

#include <utility>

namespace orch::adapters {

using nlohmann::json;

SlackAdapter::SlackAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint)
    : ServiceAdapter(transport, "slack", std::move(endpoint)) {}

void SlackAdapter::post_message(const phases::CallContext& ctx, const std::string& channel,
                                const std::string& text, phases::ServiceCallback done) {
  Exchange ex;
  ex.method = "POST";
  ex.target = "/api/chat.postMessage";
  JsonWriter(ex.body).begin_object().key("channel").string(channel).key("text").string(text).end_object();
  ex.content_type = "application/json; charset=utf-8";
  add_bearer(ex.headers);
  execute(ctx, std::move(ex),
          [channel](const http::Response& res, phases::ServiceResult& out) {
            json b;
            static const JsonProjection kFields{"ok", "error", "needed", "ts", "channel"};
            if (!parse_object(res, kFields, b, out)) return;
            auto ok = b.find("ok");
            if (ok == b.end() || !ok->is_boolean())
              return reject(out, "unusable response body: no ok field");
            if (!ok->get<bool>()) {
              std::string error = json_string(b, "error");
              if (error.empty()) error = "unknown_error";
              std::string why = "slack: " + error;
              if (std::string needed = json_string(b, "needed"); !needed.empty())
                why += " (needed: " + needed + ")";
              return reject(out, std::move(why),
                            error == "ratelimited" || error == "internal_error" ||
                                    error == "service_unavailable" || error == "fatal_error"
                                ? phases::ServiceOutcome::retryable
                                : phases::ServiceOutcome::permanent);
            }
            std::string ts = json_string(b, "ts");
            if (ts.empty()) return reject(out, "unusable response body: no ts");
            std::string got = json_string(b, "channel");
            out.value = {{"ts", ts}, {"channel", got.empty() ? channel : got}};
          },
          std::move(done));
}

}  // namespace orch::adapters
