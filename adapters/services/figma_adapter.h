// Figma (DesignRenderer): render images of a file's nodes.
//   render: GET /v1/images/{file_key}?ids={node}&format=png[&scale=], with
//     "X-Figma-Token: <personal access token>"; answer 200
//     {"err":null,"images":{"<node id>":"<image url>"}} (an image is null when
//     the node could not be rendered): reads err and images.
//     https://www.figma.com/developers/api#get-images-endpoint
//     (OpenAPI: figma/rest-api-spec, operation getImages)
//   remove: DELETE /v1/images/{file_key}/{asset_id} is the sandbox's
//     extension: Figma has no call to delete a rendered image (its URLs
//     expire after 30 days), so against Figma itself the compensation gets a
//     404, which counts as already absent.
// Errors: {"status":<code>,"err":"<message>"}; the step fails with
// "figma: <err>". 429 and 5xx are retryable.
// file_key from setting "file_key" (default CAMPAIGN_TEMPLATES); a template
// maps to its node id through setting "node.<template>" (default: the
// template name itself). An optional numeric variables["scale"] (Figma: 0.01
// to 4) is passed as &scale=.
#pragma once

#include "adapters/services/service_adapter.h"

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
