#include "adapters/services/tool_service_adapter.h"
#include "engine/json/json_object.h"
#include "engine/json/json_writer.h"

#include <utility>

namespace orch::adapters {

using nlohmann::json;

ToolServiceAdapter::ToolServiceAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint)
    : ServiceAdapter(transport, "tool_service", std::move(endpoint)) {}

void ToolServiceAdapter::scrape(const phases::CallContext& ctx, const std::string& url,
                                phases::ServiceCallback done) {
  Exchange ex;
  ex.method = "POST";
  ex.target = "/v1/tools/scrape";
  JsonWriter(ex.body).begin_object().key("url").string(url).end_object();
  add_bearer(ex.headers);
  execute(ctx, std::move(ex),
          [url](const http::Response& res, phases::ServiceResult& out) {
            json body;
            static const JsonProjection kFields{"text", "status_code", "url", "title"};
            if (!parse_object(res, kFields, body, out)) return;
            auto text = body.find("text");
            if (text == body.end() || !text->is_string())
              return reject(out, "unusable response body: no text");
            if (auto sc = body.find("status_code"); sc != body.end() && sc->is_number_integer()) {
              int page_status = sc->get<int>();
              if (page_status >= 400) {
                return reject(out, "scraped page answered " + std::to_string(page_status),
                              page_status >= 500 ? phases::ServiceOutcome::retryable
                                                 : phases::ServiceOutcome::permanent);
              }
            }
            std::string got = json_string(body, "url");
            out.value = {{"url", got.empty() ? url : got},
                         {"title", json_string(body, "title")},
                         {"text", text->get<std::string>()}};
          },
          std::move(done));
}

}  // namespace orch::adapters
