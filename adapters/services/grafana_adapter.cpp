#include "adapters/services/grafana_adapter.h"

#include <utility>

#include "engine/json/json_object.h"
#include "engine/json/json_writer.h"

namespace orch::adapters {

using nlohmann::json;

GrafanaAdapter::GrafanaAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint)
    : ServiceAdapter(transport, "grafana", std::move(endpoint)) {}

void GrafanaAdapter::create_dashboard(const phases::CallContext& ctx, const std::string& uid,
                                      const std::string& title,
                                      const std::vector<std::string>& metrics,
                                      phases::ServiceCallback done) {
  // Written in place, keys in order (see engine/json/json_writer.h).
  const std::string datasource = setting("datasource_uid");
  const std::string folder = setting("folder_uid");
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("dashboard").begin_object();
  w.key("id").null().key("panels").begin_array();
  int i = 0;
  for (const auto& metric : metrics) {
    w.begin_object();
    if (!datasource.empty())
      w.key("datasource").begin_object().key("type").string("prometheus").key("uid").string(
          datasource).end_object();
    w.key("gridPos").begin_object();
    w.key("h").number(8).key("w").number(12).key("x").number((i % 2) * 12).key("y").number(
        (i / 2) * 8);
    w.end_object();
    w.key("id").number(i + 1);
    w.key("targets").begin_array().begin_object();
    w.key("expr").string("sum(rate(campaign_" + metric + "_total{campaign=\"" + uid +
                         "\"}[5m]))");
    w.key("refId").string("A");
    w.end_object().end_array();
    w.key("title").string(metric).key("type").string("timeseries");
    w.end_object();
    ++i;
  }
  w.end_array();
  w.key("schemaVersion").number(39);
  w.key("tags").begin_array().string("campaign").end_array();
  w.key("timezone").string("browser").key("title").string(title).key("uid").string(uid);
  w.end_object();
  if (!folder.empty()) w.key("folderUid").string(folder);
  w.key("message").string("campaign orchestrator").key("overwrite").boolean(true);
  w.end_object();
  Exchange ex;
  ex.method = "POST";
  ex.target = "/api/dashboards/db";
  ex.body = std::move(body);
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
              return reject(out, "grafana: status " + status);
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
