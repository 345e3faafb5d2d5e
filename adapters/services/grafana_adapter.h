// Grafana (DashboardHost): the dashboard HTTP API, with
// "Authorization: Bearer <service account token>".
//   create: POST /api/dashboards/db {"dashboard":{"id":null,"uid","title",
//     "panels",...},"folderUid"?,"message","overwrite":true} (one timeseries
//     panel per metric); answer 200 {"id","uid","url","status":"success",
//     "version","slug"}: reads status, uid, url (relative to Grafana's root).
//   delete: DELETE /api/dashboards/uid/{uid}; answer 200 {"title","message",
//     "id"}; 404: already absent.
//   https://grafana.com/docs/grafana/latest/developers/http_api/dashboard/
// Errors: {"message",...} (412 adds "status": "name-exists",
// "version-mismatch", ...); the step fails with "grafana: <message>".
// Settings: folder_uid (optional), public_url (base of the returned
// dashboard URL; default base_url), datasource_uid (optional).
#pragma once

#include "adapters/services/service_adapter.h"

namespace orch::adapters {

class GrafanaAdapter final : public phases::DashboardHost, public ServiceAdapter {
 public:
  GrafanaAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint);
  // value: {"uid","url"} (url absolute)
  void create_dashboard(const phases::CallContext& ctx, const std::string& uid,
                        const std::string& title, const std::vector<std::string>& metrics,
                        phases::ServiceCallback done) override;
  // Compensation. value: {"uid"} (+ "already_absent":true on 404)
  void delete_dashboard(const phases::CallContext& ctx, const std::string& uid,
                        phases::ServiceCallback done) override;
};

}  // namespace orch::adapters
