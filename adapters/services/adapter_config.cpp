#include "adapters/services/adapter_config.h"

#include <cstdlib>
#include <utility>
#include <vector>

namespace orch::adapters {

namespace {

const char* const kServices[] = {"notion",   "tool_service", "memory_gateway", "slm",
                                 "figma",    "github",       "github_pages",   "slack",
                                 "sendgrid", "buffer",       "grafana",        "messaging",
                                 "rewards"};

std::string public_url(const std::string& service) {
  if (service == "notion") return "https://api.notion.com";
  if (service == "tool_service") return "http://tool-service:8080";
  if (service == "memory_gateway") return "http://memory-gateway:8080";
  if (service == "slm") return "http://gateway-api:60000";
  if (service == "figma") return "https://api.figma.com";
  if (service == "github" || service == "github_pages") return "https://api.github.com";
  if (service == "slack") return "https://slack.com";
  if (service == "sendgrid") return "https://api.sendgrid.com";
  if (service == "buffer") return "https://api.bufferapp.com";
  if (service == "grafana") return "http://grafana:3000";
  if (service == "messaging") return "https://api.twilio.com";
  if (service == "rewards") return "http://rewards:8080";
  return {};
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

std::string ServiceEndpoint::setting(const std::string& name, const std::string& fallback) const {
  auto it = settings.find(name);
  if (it == settings.end() || it->second.empty()) return fallback;
  return it->second;
}

const ServiceEndpoint& AdapterConfig::endpoint(const std::string& name) const {
  static const ServiceEndpoint kEmpty;
  auto it = services.find(name);
  return it == services.end() ? kEmpty : it->second;
}

std::map<std::string, std::string> AdapterConfig::default_settings(const std::string& service) {
  if (service == "notion") return {{"notion_version", "2022-06-28"}};
  if (service == "slm") return {{"model", "campaign-writer"}};
  if (service == "figma") return {{"file_key", "CAMPAIGN_TEMPLATES"}};
  if (service == "github") return {{"owner", "acme"}, {"repo", "campaigns"}, {"base_branch", "main"}};
  if (service == "github_pages")
    return {{"owner", "acme"}, {"repo", "acme.github.io"}, {"base_branch", "main"}};
  if (service == "sendgrid")
    return {{"from", "campaigns@example.com"},
            {"to", "subscribers@example.com"},
            {"send_delay_s", "600"}};
  if (service == "buffer") return {{"profile_id", "profile-1"}};
  if (service == "messaging")
    return {{"twilio_account_sid", "AC00000000000000000000000000000000"},
            {"twilio_from", "+15005550006"},
            {"fcm_project", "campaign-app"},
            {"push_title", "Campaign update"}};
  return {};
}

AdapterConfig AdapterConfig::pointing_at(const std::string& base_url) {
  AdapterConfig c;
  for (const char* name : kServices) {
    ServiceEndpoint e;
    e.base_url = base_url;
    e.token = std::string("sandbox-") + name + "-token";
    e.settings = default_settings(name);
    c.services.emplace(name, std::move(e));
  }
  return c;
}

AdapterConfig AdapterConfig::from_env(AdapterConfig defaults) {
  AdapterConfig c = std::move(defaults);
  for (const char* name : kServices) {
    auto [it, fresh] = c.services.try_emplace(name);
    (void)fresh;
    if (it->second.base_url.empty()) it->second.base_url = public_url(name);
    // Fill settings the defaults did not specify.
    for (auto& [k, v] : default_settings(name)) it->second.settings.try_emplace(k, v);
  }
  auto set_url = [&](const char* service, const char* var) {
    if (std::string v = env(var); !v.empty()) c.services[service].base_url = std::move(v);
  };
  auto set_token = [&](const char* service, const char* var) {
    if (std::string v = env(var); !v.empty()) c.services[service].token = std::move(v);
  };
  auto set_setting = [&](const char* service, const char* key, const char* var) {
    if (std::string v = env(var); !v.empty()) c.services[service].settings[key] = std::move(v);
  };

  set_url("notion", "NOTION_URL");
  set_token("notion", "NOTION_TOKEN");
  set_url("tool_service", "TOOL_SERVICE_URL");
  set_url("memory_gateway", "MEMORY_GATEWAY_URL");
  set_url("slm", "SOMALLM_PROVIDER_URL");
  set_url("slm", "SLM_URL");  // wins over SOMALLM_PROVIDER_URL
  set_token("slm", "SLM_API_KEY");
  set_url("figma", "FIGMA_URL");
  set_token("figma", "FIGMA_ACCESS_TOKEN");
  set_url("github", "GITHUB_URL");
  set_url("github_pages", "GITHUB_URL");
  set_token("github", "GITHUB_TOKEN");
  set_token("github_pages", "GITHUB_TOKEN");
  set_url("slack", "SLACK_URL");
  set_token("slack", "SLACK_BOT_TOKEN");
  set_url("sendgrid", "SENDGRID_URL");
  set_token("sendgrid", "SENDGRID_API_KEY");
  set_url("buffer", "BUFFER_URL");
  set_token("buffer", "BUFFER_ACCESS_TOKEN");
  set_url("grafana", "GRAFANA_URL");
  set_token("grafana", "GRAFANA_TOKEN");
  set_url("messaging", "MESSAGING_URL");
  set_token("messaging", "MESSAGING_TOKEN");
  set_url("rewards", "REWARDS_URL");
  set_token("rewards", "REWARDS_TOKEN");

  set_setting("slm", "model", "SLM_MODEL");
  set_setting("figma", "file_key", "FIGMA_FILE_KEY");
  set_setting("github", "owner", "GITHUB_OWNER");
  set_setting("github_pages", "owner", "GITHUB_OWNER");
  set_setting("github", "repo", "GITHUB_REPO");
  set_setting("github_pages", "repo", "GITHUB_PAGES_REPO");
  set_setting("sendgrid", "from", "SENDGRID_FROM");
  set_setting("sendgrid", "to", "SENDGRID_TO");
  set_setting("buffer", "profile_id", "BUFFER_PROFILE_ID");
  set_setting("messaging", "twilio_account_sid", "TWILIO_ACCOUNT_SID");
  set_setting("messaging", "twilio_from", "TWILIO_FROM");
  set_setting("messaging", "fcm_project", "FCM_PROJECT");
  return c;
}

}  // namespace orch::adapters
