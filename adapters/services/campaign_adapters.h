// Owns one adapter per service, built from an AdapterConfig, and hands the
// phases their ports. The transport and this object must outlive every call
// in flight.
#pragma once

#include "adapters/resilience/service_guard.h"

#include <memory>

#include "adapters/services/adapter_config.h"
#include "adapters/services/buffer_adapter.h"
#include "adapters/services/figma_adapter.h"
#include "adapters/services/github_adapter.h"
#include "adapters/services/grafana_adapter.h"
#include "adapters/services/memory_gateway_adapter.h"
#include "adapters/services/messaging_adapter.h"
#include "adapters/services/notion_adapter.h"
#include "adapters/services/openai_adapter.h"
#include "adapters/services/rewards_adapter.h"
#include "adapters/services/sendgrid_adapter.h"
#include "adapters/services/slack_adapter.h"
#include "adapters/services/tool_service_adapter.h"
#include "phases/ports.h"

namespace orch::adapters {

class CampaignAdapters {
 public:
  CampaignAdapters(http::HttpTransport& transport, const AdapterConfig& config);
  CampaignAdapters(const CampaignAdapters&) = delete;
  CampaignAdapters& operator=(const CampaignAdapters&) = delete;

  // Puts every adapter behind its service's guard (see ServiceAdapter::protect).
  void protect(ServiceGuards& guards, Scheduler scheduler, observability::Metrics* metrics);

  // Non-owning pointers, all non-null, valid while this object lives.
  // (Not every adapter is a campaign's: rewards() serves the triggers.)
  phases::CampaignServices services();

  NotionAdapter& notion() { return notion_; }
  ToolServiceAdapter& tool_service() { return tool_service_; }
  MemoryGatewayAdapter& memory() { return memory_; }
  OpenAiAdapter& language_model() { return slm_; }
  FigmaAdapter& figma() { return figma_; }
  GitHubAdapter& github() { return github_; }
  GitHubAdapter& github_pages() { return github_pages_; }
  SlackAdapter& slack() { return slack_; }
  SendGridAdapter& sendgrid() { return sendgrid_; }
  BufferAdapter& buffer() { return buffer_; }
  GrafanaAdapter& grafana() { return grafana_; }
  MessagingAdapter& messaging() { return messaging_; }
  RewardsAdapter& rewards() { return rewards_; }

 private:
  NotionAdapter notion_;
  ToolServiceAdapter tool_service_;
  MemoryGatewayAdapter memory_;
  OpenAiAdapter slm_;
  FigmaAdapter figma_;
  GitHubAdapter github_;
  GitHubAdapter github_pages_;
  SlackAdapter slack_;
  SendGridAdapter sendgrid_;
  BufferAdapter buffer_;
  GrafanaAdapter grafana_;
  MessagingAdapter messaging_;
  RewardsAdapter rewards_;
};

}  // namespace orch::adapters
