// Figma (DesignRenderer): GET /v1/images/{file_key}?ids={node}&format=png and
// DELETE /v1/images/{file_key}/{asset_id} (the sandbox's extension), with the
// X-Figma-Token header. file_key from setting "file_key" (default
// CAMPAIGN_TEMPLATES); a template maps to its node id through setting
// "node.<template>" (default: the template name itself). An optional numeric
// variables["scale"] is passed as &scale=.
#pragma once

#include "adapters/service_adapter.h"

namespace orch::adapters {

class FigmaAdapter final : public phases::DesignRenderer, public ServiceAdapter {
 public:
  FigmaAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint);
  // value: {"asset_id","url","format":"png"}; asset_id is the image URL's
  // file name without extension.
  void render(const phases::CallContext& ctx, const std::string& template_name,
              const nlohmann::json& variables, phases::ServiceCallback done) override;
  // Compensation. value: {} (+ "already_absent":true on 404)
  void remove(const phases::CallContext& ctx, const std::string& asset_id,
              phases::ServiceCallback done) override;

 private:
  void add_auth(http::Headers& headers) const;
};

}  // namespace orch::adapters
