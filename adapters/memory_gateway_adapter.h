// Memory gateway (MemoryStore): POST /v1/recall {"query"},
// POST /v1/remember {"key","value"}, DELETE /v1/memories/{key}.
// Bearer token when configured.
#pragma once

#include "adapters/service_adapter.h"

namespace orch::adapters {

class MemoryGatewayAdapter final : public phases::MemoryStore, public ServiceAdapter {
 public:
  MemoryGatewayAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint);
  // value: {"memories":[{"key","value"}]}
  void recall(const phases::CallContext& ctx, const std::string& query,
              phases::ServiceCallback done) override;
  // value: {"key"}
  void remember(const phases::CallContext& ctx, const std::string& key,
                const nlohmann::json& value, phases::ServiceCallback done) override;
  // Compensation. value: {"key"} (+ "already_absent":true on 404)
  void forget(const phases::CallContext& ctx, const std::string& key,
              phases::ServiceCallback done) override;
};

}  // namespace orch::adapters
