#include "adapters/services/notion_adapter.h"
#include "engine/json/json_object.h"
#include "engine/json/json_writer.h"

#include <utility>

namespace orch::adapters {

using nlohmann::json;

namespace {

// Concatenated plain_text of a rich-text array.
std::string plain_text(const json& rich) {
  std::string out;
  if (!rich.is_array()) return out;
  for (const auto& part : rich) {
    std::string t = json_string(part, "plain_text");
    if (t.empty()) {
      if (auto it = part.find("text"); it != part.end()) t = json_string(*it, "content");
    }
    out += t;
  }
  return out;
}

// A page's title lives in whichever property has type "title"; a database's
// in its top-level "title" array.
std::string title_of(const json& obj) {
  if (auto props = obj.find("properties"); props != obj.end() && props->is_object()) {
    for (const auto& [name, prop] : props->items()) {
      if (json_string(prop, "type") == "title") {
        if (auto t = prop.find("title"); t != prop.end()) return plain_text(*t);
      }
    }
  }
  if (auto t = obj.find("title"); t != obj.end()) return plain_text(*t);
  return {};
}

}  // namespace

std::string NotionAdapter::error_reason(const http::Response& res) const {
  const json body = error_body(res.body);
  std::string code = json_string(body, "code");
  std::string message = json_string(body, "message");
  if (code.empty() || message.empty()) return error_detail(res.body);
  return code + ": " + message;
}

NotionAdapter::NotionAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint)
    : ServiceAdapter(transport, "notion", std::move(endpoint)) {}

void NotionAdapter::search(const phases::CallContext& ctx, const std::string& query,
                           phases::ServiceCallback done) {
  Exchange ex;
  ex.method = "POST";
  ex.target = "/v1/search";
  int page_size = 10;
  try {
    page_size = std::stoi(setting("page_size", "10"));
  } catch (const std::exception&) {
  }
  JsonWriter(ex.body)
      .begin_object()
      .key("filter").begin_object().key("property").string("object").key("value").string("page")
      .end_object()
      .key("page_size").number(page_size)
      .key("query").string(query)
      .end_object();
  add_bearer(ex.headers);
  ex.headers.emplace_back("Notion-Version", setting("notion_version", "2022-06-28"));
  execute(ctx, std::move(ex),
          [](const http::Response& res, phases::ServiceResult& out) {
            json body;
            static const JsonProjection kFields{"results/*/id", "results/*/url",
                                                "results/*/properties", "results/*/title"};
            if (!parse_object(res, kFields, body, out)) return;
            auto results = body.find("results");
            if (results == body.end() || !results->is_array())
              return reject(out, "unusable response body: no results array");
            json list = json::array();
            for (const auto& r : *results) {
              if (!r.is_object()) continue;
              list.push_back(json_object("id", json_string(r, "id"), "title", title_of(r), "url",
                                         json_string(r, "url")));
            }
            out.value = json_object("results", std::move(list));
          },
          std::move(done));
}

}  // namespace orch::adapters
