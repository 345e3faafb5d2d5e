// Grafana (DashboardHost): POST /api/dashboards/db (overwrite: true, one
// timeseries panel per metric) and DELETE /api/dashboards/uid/{uid}, with
// "Authorization: Bearer <service account token>". Settings: folder_uid
// (optional), public_url (base of the returned dashboard URL; default
// base_url), datasource_uid (optional).
#pragma once

#include "adapters/service_adapter.h"

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
