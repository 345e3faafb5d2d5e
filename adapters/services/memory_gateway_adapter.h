// Memory gateway (MemoryStore): an in-cluster service with no public API
// reference; this file and the sandbox's fake
// (adapters/sandbox/fake_memory_gateway.cpp) are its contract. Bearer token when
// configured.
//   POST /v1/recall {"query"} -> 200 {"memories":[{"key","value","score"}],"query"}
//   POST /v1/remember {"key","value"} -> 200 {"key","stored":true}
//   DELETE /v1/memories/{key} -> 200 {"key","deleted":true}; 404: already absent
// Errors: {"error":"<message>"}; the step fails with "memory_gateway: <message>".
#pragma once

#include "adapters/services/service_adapter.h"

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
