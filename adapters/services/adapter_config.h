// Where each external service lives and how to authenticate to it.
//
// Service names: notion, tool_service, memory_gateway, slm, figma, github,
// github_pages, slack, sendgrid, buffer, grafana, messaging, rewards.
//
// `base_url` is "https://host[:port]" (or http://) optionally followed by a
// path prefix; each adapter appends the real API's path (e.g.
// "/v1/chat/completions"), so an OpenAI-compatible gateway is configured
// WITHOUT a trailing "/v1". How the service is reached over TLS and through
// a proxy (settings ca_file, tls_insecure_skip_verify, proxy, no_proxy):
// adapters/service_adapter.h. Secrets live only in `token`; they are never
// put into error strings.
#pragma once

#include <map>
#include <string>

namespace orch::adapters {

struct ServiceEndpoint {
  std::string base_url;
  std::string token;
  std::map<std::string, std::string> settings;

  // settings[name] if present and non-empty, else `fallback`.
  std::string setting(const std::string& name, const std::string& fallback = "") const;
};

struct AdapterConfig {
  std::map<std::string, ServiceEndpoint> services;

  // The endpoint of `name`; an empty endpoint when absent.
  const ServiceEndpoint& endpoint(const std::string& name) const;

  // Starts from `defaults` (a service missing there gets the real public API
  // URL, or the documented in-cluster URL for tool_service, memory_gateway,
  // slm and rewards, plus default_settings()), then lets the environment
  // override:
  //   NOTION_URL NOTION_TOKEN TOOL_SERVICE_URL MEMORY_GATEWAY_URL
  //   SLM_URL (or SOMALLM_PROVIDER_URL) SLM_API_KEY FIGMA_URL FIGMA_ACCESS_TOKEN
  //   GITHUB_URL GITHUB_TOKEN (both also for github_pages) SLACK_URL
  //   SLACK_BOT_TOKEN SENDGRID_URL SENDGRID_API_KEY BUFFER_URL
  //   BUFFER_ACCESS_TOKEN GRAFANA_URL GRAFANA_TOKEN MESSAGING_URL MESSAGING_TOKEN
  //   REWARDS_URL REWARDS_TOKEN
  // and these settings: SLM_MODEL FIGMA_FILE_KEY GITHUB_OWNER GITHUB_REPO
  //   GITHUB_PAGES_REPO SENDGRID_FROM SENDGRID_TO BUFFER_PROFILE_ID
  //   TWILIO_ACCOUNT_SID TWILIO_FROM FCM_PROJECT.
  // Empty environment variables are ignored.
  static AdapterConfig from_env(AdapterConfig defaults);

  // Every service at `base_url` (e.g. a Sandbox's base_url()), with
  // placeholder tokens ("sandbox-<service>-token") and default_settings().
  static AdapterConfig pointing_at(const std::string& base_url);

  // Default settings of one service:
  //   slm: model=campaign-writer
  //   figma: file_key=CAMPAIGN_TEMPLATES
  //   github: owner=acme repo=campaigns base_branch=main
  //   github_pages: owner=acme repo=acme.github.io base_branch=main
  //   sendgrid: from=campaigns@example.com to=subscribers@example.com
  //             (comma-separated list) send_delay_s=600
  //   buffer: profile_id=profile-1
  //   messaging: twilio_account_sid=AC000...0 twilio_from=+15005550006
  //              fcm_project=campaign-app push_title=Campaign update
  //   notion: notion_version=2022-06-28
  // Every adapter also reads optional max_retries (default 2) and
  // initial_backoff_ms (default 50) for its transport retries.
  static std::map<std::string, std::string> default_settings(const std::string& service);
};

}  // namespace orch::adapters
