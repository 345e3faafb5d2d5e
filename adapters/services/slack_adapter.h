// Slack (ChatNotifier): chat.postMessage.
//   POST /api/chat.postMessage, "Authorization: Bearer <bot token>",
//   "Content-Type: application/json; charset=utf-8", body {"channel","text"};
//   answer 200 {"ok":true,"channel","ts","message"}: reads ok, ts, channel.
//   Reference: https://api.slack.com/methods/chat.postMessage and
//   https://api.slack.com/web#responses (errors in-band).
// Slack reports errors in-band: HTTP 200 with {"ok":false,"error":"<code>"}
// (plus "needed"/"provided" for missing_scope). The step fails with
// "slack: <code>": ratelimited, internal_error, fatal_error and
// service_unavailable are retryable, every other code permanent. Rate
// limiting proper is HTTP 429 with Retry-After (retryable, see
// service_adapter.h). Idempotency-Key is not a Slack header: Slack ignores
// it, and a retried post after a lost answer posts twice.
#pragma once

#include "adapters/services/service_adapter.h"

namespace orch::adapters {

class SlackAdapter final : public phases::ChatNotifier, public ServiceAdapter {
 public:
  SlackAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint);
  // value: {"ts","channel"} (channel as Slack reports it: the channel id)
  void post_message(const phases::CallContext& ctx, const std::string& channel,
                    const std::string& text, phases::ServiceCallback done) override;
};

}  // namespace orch::adapters
