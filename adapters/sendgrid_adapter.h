// SendGrid (EmailSender): POST /v3/mail/send (scheduled: send_at = now +
// setting send_delay_s, default 600; 0 sends immediately) with the batch id,
// and POST /v3/user/scheduled_sends {"batch_id","status":"cancel"} to cancel.
// "Authorization: Bearer <api key>". Settings: from, from_name (optional),
// to (comma-separated list used when the message has no recipients).
#pragma once

#include "adapters/service_adapter.h"

namespace orch::adapters {

class SendGridAdapter final : public phases::EmailSender, public ServiceAdapter {
 public:
  SendGridAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint);
  // value: {"message_id","batch_id"} (message_id from X-Message-Id)
  void send(const phases::CallContext& ctx, const phases::EmailMessage& message,
            phases::ServiceCallback done) override;
  // Compensation. value: {"batch_id"} (+ "already_absent":true on 404)
  void cancel(const phases::CallContext& ctx, const std::string& batch_id,
              phases::ServiceCallback done) override;
};

}  // namespace orch::adapters
