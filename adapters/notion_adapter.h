// Notion (KnowledgeBase): POST /v1/search with "Authorization: Bearer" and
// "Notion-Version" (setting notion_version, default 2022-06-28).
#pragma once

#include "adapters/service_adapter.h"

namespace orch::adapters {

class NotionAdapter final : public phases::KnowledgeBase, public ServiceAdapter {
 public:
  NotionAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint);
  // value: {"results":[{"id","title","url"}]}
  void search(const phases::CallContext& ctx, const std::string& query,
              phases::ServiceCallback done) override;
};

}  // namespace orch::adapters
