// Slack (ChatNotifier): POST /api/chat.postMessage {"channel","text"} with
// "Authorization: Bearer <bot token>". Slack reports errors in-band (HTTP 200,
// {"ok":false,"error":...}): "ratelimited" is retryable, others permanent.
#pragma once

#include "adapters/service_adapter.h"

namespace orch::adapters {

class SlackAdapter final : public phases::ChatNotifier, public ServiceAdapter {
 public:
  SlackAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint);
  // value: {"ts","channel"} (channel as Slack reports it: the channel id)
  void post_message(const phases::CallContext& ctx, const std::string& channel,
                    const std::string& text, phases::ServiceCallback done) override;
};

}  // namespace orch::adapters
