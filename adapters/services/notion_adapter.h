// Notion (KnowledgeBase): search.
//   POST /v1/search, "Authorization: Bearer <integration token>",
//   "Notion-Version" (setting notion_version, default 2022-06-28), JSON
//   {"filter":{"property":"object","value":"page"},"page_size","query"};
//   answer 200 {"object":"list","results":[page...],"next_cursor","has_more"}:
//   reads results[].id, url and the title (the "title"-typed property of a
//   page, or a database's title).
//   https://developers.notion.com/reference/post-search
// Errors: {"object":"error","status","code","message"}
// (https://developers.notion.com/reference/status-codes); the step fails with
// "notion: <code>: <message>". 429 (rate_limited, Retry-After) and 5xx are
// retryable.
#pragma once

#include "adapters/services/service_adapter.h"

namespace orch::adapters {

class NotionAdapter final : public phases::KnowledgeBase, public ServiceAdapter {
 public:
  NotionAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint);
  // value: {"results":[{"id","title","url"}]}
  void search(const phases::CallContext& ctx, const std::string& query,
              phases::ServiceCallback done) override;

 protected:
  std::string error_reason(const http::Response& res) const override;
};

}  // namespace orch::adapters
