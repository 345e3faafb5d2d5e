#include "adapters/services/campaign_adapters.h"

namespace orch::adapters {

namespace {

// The endpoint of `name`, with the default settings filled in where the
// config leaves them out.
ServiceEndpoint endpoint_of(const AdapterConfig& config, const std::string& name) {
  ServiceEndpoint e = config.endpoint(name);
  for (auto& [k, v] : AdapterConfig::default_settings(name)) e.settings.try_emplace(k, v);
  return e;
}

}  // namespace

CampaignAdapters::CampaignAdapters(http::HttpTransport& transport, const AdapterConfig& config)
    : notion_(transport, endpoint_of(config, "notion")),
      tool_service_(transport, endpoint_of(config, "tool_service")),
      memory_(transport, endpoint_of(config, "memory_gateway")),
      slm_(transport, endpoint_of(config, "slm")),
      figma_(transport, endpoint_of(config, "figma")),
      github_(transport, endpoint_of(config, "github"), "github"),
      github_pages_(transport, endpoint_of(config, "github_pages"), "github_pages"),
      slack_(transport, endpoint_of(config, "slack")),
      sendgrid_(transport, endpoint_of(config, "sendgrid")),
      buffer_(transport, endpoint_of(config, "buffer")),
      grafana_(transport, endpoint_of(config, "grafana")),
      messaging_(transport, endpoint_of(config, "messaging")),
      rewards_(transport, endpoint_of(config, "rewards")) {}

void CampaignAdapters::protect(ServiceGuards& guards, Scheduler scheduler,
                               observability::Metrics* metrics) {
  ServiceAdapter* all[] = {&notion_,   &tool_service_, &memory_,       &slm_,
                           &figma_,    &github_,       &github_pages_, &slack_,
                           &sendgrid_, &buffer_,       &grafana_,      &rewards_};
  for (ServiceAdapter* a : all)
    if (ServiceGuard* g = guards.find(a->service_name())) a->protect(g, scheduler, metrics);
  if (ServiceGuard* g = guards.find("messaging")) messaging_.protect(g, scheduler, metrics);
}

phases::CampaignServices CampaignAdapters::services() {
  phases::CampaignServices s;
  s.knowledge = &notion_;
  s.scraper = &tool_service_;
  s.memory = &memory_;
  s.language_model = &slm_;
  s.design = &figma_;
  s.code_host = &github_;
  s.pages = &github_pages_;
  s.chat = &slack_;
  s.email = &sendgrid_;
  s.social = &buffer_;
  s.dashboards = &grafana_;
  s.messaging = &messaging_;
  return s;
}

}  // namespace orch::adapters
