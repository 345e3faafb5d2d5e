// Tool service (headless-browser scraping, WebScraper):
// POST /v1/tools/scrape {"url"}; Bearer token when configured.
#pragma once

#include "adapters/service_adapter.h"

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
