// Tool service (headless-browser scraping, WebScraper): an in-cluster
// service with no public API reference; this file and the sandbox's fake
// (adapters/sandbox/fake_tool_service.cpp) are its contract.
//   POST /v1/tools/scrape {"url"}, Bearer token when configured; answer 200
//   {"url","title","text","status_code","content_type"}: reads text,
//   status_code (the scraped page's), url, title.
// Errors: {"error":"<message>"}; the step fails with "tool_service: <message>".
#pragma once

#include "adapters/services/service_adapter.h"

namespace orch::adapters {

class ToolServiceAdapter final : public phases::WebScraper, public ServiceAdapter {
 public:
  ToolServiceAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint);
  // value: {"url","title","text"}. A scraped page answering >= 400 is an
  // error (5xx retryable, else permanent).
  void scrape(const phases::CallContext& ctx, const std::string& url,
              phases::ServiceCallback done) override;
};

}  // namespace orch::adapters
