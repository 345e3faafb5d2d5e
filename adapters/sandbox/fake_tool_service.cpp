// The tool service: POST /v1/tools/scrape, a made-up snapshot of a page.
#include <string>
#include <string_view>

#include "adapters/sandbox/fake_services.h"
#include "engine/json/json_object.h"

namespace orch::sandbox {

using nlohmann::json;
using http::Response;

Response tool_scrape(Sandbox::State&, Call& c) {
  std::string url = str_of(c.body, "url");
  if (url.empty()) return json_response(400, {{"error", "url is required"}});
  std::string_view u(url);
  std::size_t scheme = u.find("://");
  if (scheme == std::string_view::npos ||
      !(u.substr(0, scheme) == "http" || u.substr(0, scheme) == "https"))
    return json_response(422, {{"error", "url must be http(s)"}, {"url", url}});
  std::string_view host = u.substr(scheme + 3);
  host = host.substr(0, host.find_first_of("/?#"));
  if (host.empty()) return json_response(422, {{"error", "url has no host"}, {"url", url}});
  std::string h(host);
  std::string title = h + " | Product, pricing and customers";
  std::string text = "Snapshot of " + url + ". " + h +
                     " highlights faster onboarding, usage-based pricing from $29/month "
                     "and case studies from mid-market teams. Latest announcement: an "
                     "AI assistant for campaign planning.";
  return json_response(200, json_object("url", url,
                                        "title", std::move(title),
                                        "text", std::move(text),
                                        "status_code", 200,
                                        "content_type", "text/html; charset=utf-8"));
}

}  // namespace orch::sandbox
