#include "adapters/grafana_adapter.h"

#include <utility>

#include "engine/json_object.h"
#include "engine/json_text.h"

namespace orch::adapters {

using nlohmann::json;

GrafanaAdapter::GrafanaAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint)
    : ServiceAdapter(transport, "grafana", std::move(endpoint)) {}

void GrafanaAdapter::create_dashboard(const phases::CallContext& ctx, const std::string& uid,
                                      const std::string& title,
                                      const std::vector<std::string>& metrics,
                                      phases::ServiceCallback done) {
  json panels = json::array();
  int i = 0;
  std::string datasource = setting("datasource_uid");
  for (const auto& metric : metrics) {
    json target = json_object(
        "refId", "A", "expr",
        "sum(rate(campaign_" + metric + "_total{campaign=\"" + uid + "\"}[5m]))");
    json panel = json_object(
        "id", i + 1, "type", "timeseries", "title", metric, "gridPos",
        json_object("h", 8, "w", 12, "x", (i % 2) * 12, "y", (i / 2) * 8), "targets",
        json_array(std::move(target)));
    if (!datasource.empty())
      panel["datasource"] = json_object("type", "prometheus", "uid", datasource);
    panels.push_back(std::move(panel));
    ++i;
  }
  json body = json_object("dashboard",
                          json_object("id", nullptr, "uid", uid, "title", title, "tags",
                                      json_array("campaign"), "timezone", "browser",
                                      "schemaVersion", 39, "panels", std::move(panels)),
                          "overwrite", true, "message", "campaign orchestrator");
  if (std::string folder = setting("folder_uid"); !folder.empty()) body["folderUid"] = folder;
  Exchange ex;
  ex.method = "POST";
  ex.target = "/api/dashboards/db";
  ex.body = dump_json(body);
  add_bearer(ex.headers);
  std::string base = setting("public_url", endpoint().base_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  execute(ctx, std::move(ex),
          [uid, base](const http::Response& res, phases::ServiceResult& out) {
            json b;
            static const JsonProjection kFields{"status", "uid", "url"};
            if (!parse_object(res, kFields, b, out)) return;
            std::string status = json_string(b, "status");
            if (!status.empty() && status != "success")
              return reject(out, "grafana status: " + status);
            std::string got = json_string(b, "uid");
            std::string url = json_string(b, "url");
            if (url.empty()) return reject(out, "unusable response body: no url");
            if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) url = base + url;
            out.value = json_object("uid", got.empty() ? uid : got, "url", url);
          },
          std::move(done));
}

void GrafanaAdapter::delete_dashboard(const phases::CallContext& ctx, const std::string& uid,
                                      phases::ServiceCallback done) {
  Exchange ex;
  ex.method = "DELETE";
  ex.target = "/api/dashboards/uid/" + url_encode(uid);
  ex.compensation = true;
  ex.absent_value = {{"uid", uid}};
  add_bearer(ex.headers);
  execute(ctx, std::move(ex),
          [uid](const http::Response&, phases::ServiceResult& out) { out.value = {{"uid", uid}}; },
          std::move(done));
}

}  // namespace orch::adapters
