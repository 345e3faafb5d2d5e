#include "adapters/services/memory_gateway_adapter.h"
#include "engine/json/json_object.h"
#include "engine/json/json_writer.h"

#include <utility>

namespace orch::adapters {

using nlohmann::json;

MemoryGatewayAdapter::MemoryGatewayAdapter(http::HttpTransport& transport,
                                           ServiceEndpoint endpoint)
    : ServiceAdapter(transport, "memory_gateway", std::move(endpoint)) {}

void MemoryGatewayAdapter::recall(const phases::CallContext& ctx, const std::string& query,
                                  phases::ServiceCallback done) {
  Exchange ex;
  ex.method = "POST";
  ex.target = "/v1/recall";
  JsonWriter(ex.body).begin_object().key("query").string(query).end_object();
  add_bearer(ex.headers);
  execute(ctx, std::move(ex),
          [](const http::Response& res, phases::ServiceResult& out) {
            json body;
            static const JsonProjection kFields{"memories/*/key", "memories/*/value"};
            if (!parse_object(res, kFields, body, out)) return;
            auto mems = body.find("memories");
            if (mems == body.end() || !mems->is_array())
              return reject(out, "unusable response body: no memories array");
            json list = json::array();
            for (const auto& m : *mems) {
              if (!m.is_object()) continue;
              auto v = m.find("value");
              list.push_back(json_object("key", json_string(m, "key"), "value",
                                         v == m.end() ? json(nullptr) : *v));
            }
            out.value = json_object("memories", std::move(list));
          },
          std::move(done));
}

void MemoryGatewayAdapter::remember(const phases::CallContext& ctx, const std::string& key,
                                    const json& value, phases::ServiceCallback done) {
  Exchange ex;
  ex.method = "POST";
  ex.target = "/v1/remember";
  JsonWriter(ex.body).begin_object().key("key").string(key).key("value").value(value).end_object();
  add_bearer(ex.headers);
  execute(ctx, std::move(ex),
          [key](const http::Response& res, phases::ServiceResult& out) {
            json body;
            static const JsonProjection kFields{"key"};
            if (!parse_object(res, kFields, body, out)) return;
            std::string got = json_string(body, "key");
            out.value = {{"key", got.empty() ? key : got}};
          },
          std::move(done));
}

void MemoryGatewayAdapter::forget(const phases::CallContext& ctx, const std::string& key,
                                  phases::ServiceCallback done) {
  Exchange ex;
  ex.method = "DELETE";
  ex.target = "/v1/memories/" + url_encode(key);
  ex.compensation = true;
  ex.absent_value = {{"key", key}};
  add_bearer(ex.headers);
  execute(ctx, std::move(ex),
          [key](const http::Response&, phases::ServiceResult& out) {
            out.value = {{"key", key}};
          },
          std::move(done));
}

}  // namespace orch::adapters
