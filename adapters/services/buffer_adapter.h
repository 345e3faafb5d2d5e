// Buffer (SocialScheduler): the classic Buffer Publish API, version 1 (closed
// to new applications since 14 October 2019; existing ones keep access).
// Form-urlencoded POSTs, authenticated with the access_token field.
//   create: POST /1/updates/create.json, fields text, profile_ids[],
//     media[photo] and media[thumbnail] (with an image), access_token;
//     answer 200 {"success":true,"buffer_count","buffer_percentage",
//     "updates":[{"id",...}]}: reads success, updates[0].id.
//     https://buffer.com/developers/api/updates#updatescreate
//   destroy: POST /1/updates/{id}/destroy.json (access_token); answer 200
//     {"success":true}; 404: already absent.
//     https://buffer.com/developers/api/updates#updatesdestroy
// Errors: {"success":false,"code","message"} (https://buffer.com/developers/api/errors);
// the step fails with "buffer: <message>", also when a 200 says
// success:false. 429 (60 requests a minute per user) and 5xx are retryable.
// Setting profile_id (default profile-1).
#pragma once

#include "adapters/services/service_adapter.h"

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
