// Buffer (SocialScheduler): POST /1/updates/create.json and
// POST /1/updates/{id}/destroy.json, form-urlencoded, authenticated with the
// access_token form field. Setting profile_id (default profile-1).
#pragma once

#include "adapters/service_adapter.h"

namespace orch::adapters {

class BufferAdapter final : public phases::SocialScheduler, public ServiceAdapter {
 public:
  BufferAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint);
  // value: {"update_id"}
  void create_update(const phases::CallContext& ctx, const std::string& text,
                     const std::string& media_url, phases::ServiceCallback done) override;
  // Compensation. value: {"update_id"} (+ "already_absent":true on 404)
  void destroy_update(const phases::CallContext& ctx, const std::string& update_id,
                      phases::ServiceCallback done) override;
};

}  // namespace orch::adapters
