#include "adapters/services/buffer_adapter.h"

#include <utility>

namespace orch::adapters {

using nlohmann::json;

namespace {

void check_success(const json& b, phases::ServiceResult& out) {
  auto ok = b.find("success");
  if (ok == b.end() || !ok->is_boolean() || !ok->get<bool>()) {
    std::string msg = json_string(b, "message");
    out.outcome = phases::ServiceOutcome::permanent;
    out.error = msg.empty() ? "buffer: success is false" : "buffer: " + msg;
  }
}

}  // namespace

BufferAdapter::BufferAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint)
    : ServiceAdapter(transport, "buffer", std::move(endpoint)) {}

void BufferAdapter::create_update(const phases::CallContext& ctx, const std::string& text,
                                  const std::string& media_url, phases::ServiceCallback done) {
  std::vector<std::pair<std::string, std::string>> form = {
      {"text", text}, {"profile_ids[]", setting("profile_id", "profile-1")}};
  if (!media_url.empty()) {
    form.emplace_back("media[photo]", media_url);
    form.emplace_back("media[thumbnail]", media_url);
  }
  form.emplace_back("access_token", endpoint().token);
  Exchange ex;
  ex.method = "POST";
  ex.target = "/1/updates/create.json";
  ex.body = form_encode(form);
  ex.content_type = "application/x-www-form-urlencoded";
  execute(ctx, std::move(ex),
          [](const http::Response& res, phases::ServiceResult& out) {
            json b;
            static const JsonProjection kFields{"success", "message", "updates/*/id"};
            if (!parse_object(res, kFields, b, out)) return;
            check_success(b, out);
            if (!out.ok()) return;
            auto updates = b.find("updates");
            if (updates == b.end() || !updates->is_array() || updates->empty())
              return reject(out, "unusable response body: no updates");
            std::string id = json_string((*updates)[0], "id");
            if (id.empty()) return reject(out, "unusable response body: no update id");
            out.value = {{"update_id", id}};
          },
          std::move(done));
}

void BufferAdapter::destroy_update(const phases::CallContext& ctx, const std::string& update_id,
                                   phases::ServiceCallback done) {
  Exchange ex;
  ex.method = "POST";
  ex.target = "/1/updates/" + url_encode(update_id) + "/destroy.json";
  ex.body = form_encode({{"access_token", endpoint().token}});
  ex.content_type = "application/x-www-form-urlencoded";
  ex.compensation = true;
  ex.absent_value = {{"update_id", update_id}};
  execute(ctx, std::move(ex),
          [update_id](const http::Response& res, phases::ServiceResult& out) {
            json b;
            static const JsonProjection kFields{"success", "message"};
            if (!parse_object(res, kFields, b, out)) return;
            check_success(b, out);
            if (!out.ok()) return;
            out.value = {{"update_id", update_id}};
          },
          std::move(done));
}

}  // namespace orch::adapters
