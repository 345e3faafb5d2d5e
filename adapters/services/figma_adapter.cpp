#include "adapters/services/figma_adapter.h"
#include "engine/json/json_object.h"

#include <utility>

namespace orch::adapters {

using nlohmann::json;

FigmaAdapter::FigmaAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint)
    : ServiceAdapter(transport, "figma", std::move(endpoint)) {}

void FigmaAdapter::add_auth(http::Headers& headers) const {
  if (!endpoint().token.empty()) headers.emplace_back("X-Figma-Token", endpoint().token);
}

void FigmaAdapter::render(const phases::CallContext& ctx, const std::string& template_name,
                          const json& variables, phases::ServiceCallback done) {
  std::string file_key = setting("file_key", "CAMPAIGN_TEMPLATES");
  std::string node = setting("node." + template_name, template_name);
  Exchange ex;
  ex.method = "GET";
  ex.target = "/v1/images/" + url_encode(file_key) + "?ids=" + url_encode(node) + "&format=png";
  if (variables.is_object()) {
    if (auto s = variables.find("scale"); s != variables.end() && s->is_number())
      ex.target += "&scale=" + s->dump();
  }
  add_auth(ex.headers);
  execute(ctx, std::move(ex),
          [node](const http::Response& res, phases::ServiceResult& out) {
            json body;
            static const JsonProjection kFields{"err", "images"};
            if (!parse_object(res, kFields, body, out)) return;
            if (auto err = body.find("err"); err != body.end() && !err->is_null())
              return reject(out,
                            "figma: " + (err->is_string() ? err->get<std::string>() : err->dump()));
            auto images = body.find("images");
            if (images == body.end() || !images->is_object() || images->empty())
              return reject(out, "unusable response body: no images");
            auto img = images->find(node);
            if (img == images->end() && images->size() == 1) img = images->begin();
            if (img == images->end() || !img->is_string() || img->get_ref<const std::string&>().empty())
              return reject(out, "figma: could not render node " + node);
            const std::string& url = img->get_ref<const std::string&>();
            std::string_view path(url);
            path = path.substr(0, path.find_first_of("?#"));
            std::string_view name = path.substr(path.rfind('/') + 1);
            name = name.substr(0, name.rfind('.'));
            if (name.empty()) return reject(out, "unusable image url");
            out.value = json_object("asset_id", std::string(name), "url", url, "format", "png");
          },
          std::move(done));
}

void FigmaAdapter::remove(const phases::CallContext& ctx, const std::string& asset_id,
                          phases::ServiceCallback done) {
  Exchange ex;
  ex.method = "DELETE";
  ex.target = "/v1/images/" + url_encode(setting("file_key", "CAMPAIGN_TEMPLATES")) + "/" +
              url_encode(asset_id);
  ex.compensation = true;
  add_auth(ex.headers);
  execute(ctx, std::move(ex), [](const http::Response&, phases::ServiceResult& out) {
    out.value = json::object();
  }, std::move(done));
}

}  // namespace orch::adapters
