// SendGrid (EmailSender): v3 Mail Send and Cancel Scheduled Sends.
//   send:   POST /v3/mail/send, "Authorization: Bearer <api key>", JSON
//           {"batch_id"?, "content":[{"type":"text/html","value"}],
//            "from":{"email","name"?}, "personalizations":[{"to":[{"email"}]}],
//            "send_at"? (unix seconds; at most 72 h ahead), "subject"};
//           answer 202 with an empty body and X-Message-Id (read).
//           https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send
//   cancel: POST /v3/user/scheduled_sends {"batch_id","status":"cancel"};
//           answer 201 {"batch_id","status"}.
//           https://www.twilio.com/docs/sendgrid/api-reference/cancel-scheduled-sends/cancel-or-pause-a-scheduled-send
// Errors: {"errors":[{"message","field","help"}]} (OpenAPI: twilio/sendgrid-oai
// tsg_mail_v3, tsg_scheduled_sends_v3); the step fails with
// "sendgrid: <message> (field <field>)" for each error, and the result's
// value is {"errors":[{"message","field"}]}. 429/5xx retryable.
// Scheduling: send_at = now + setting send_delay_s (default 600; 0 sends at
// once). Settings: from, from_name (optional), to (comma-separated list used
// when the message has no recipients).
// KNOWN DIFFERENCE, not fixed here: SendGrid accepts only a batch_id it
// minted (POST /v3/mail/batch -> 201 {"batch_id"}, valid for 10 days; see
// "Canceling a scheduled send"), while the caller passes its own
// ("batch-<workflow id>"), which the sandbox accepts. SendGrid also cancels
// or pauses at most 10 batches at a time. Minting needs a second request per
// send whose id survives a retry (a journaled step of its own), so it is left
// to a change of the distribution phase.
#pragma once

#include "adapters/services/service_adapter.h"

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

 protected:
  // Every errors[] entry: its message and, when named, its field.
  std::string error_reason(const http::Response& res) const override;
  // {"errors":[{"message","field"}]} (field null when unnamed), or null.
  nlohmann::json error_value(const http::Response& res) const override;
};

}  // namespace orch::adapters
