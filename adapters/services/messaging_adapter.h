// SMS / WhatsApp through the Twilio Messages API and push / in-app through
// FCM HTTP v1 (MessageGateway), both at the "messaging" endpoint:
//   sms, whatsapp: POST /2010-04-01/Accounts/{sid}/Messages.json, HTTP Basic
//                  (account sid or twilio_api_key : token), form-urlencoded
//                  To, From, Body (WhatsApp numbers get the "whatsapp:"
//                  prefix); answer 201 Message resource: reads sid, status
//                  (failed/undelivered fail the step).
//                  cancel: POST .../Messages/{sid}.json Status=canceled
//                  (answer 200; Twilio cancels only messages not yet sent,
//                  i.e. scheduled ones).
//                  https://www.twilio.com/docs/messaging/api/message-resource
//                  (OpenAPI: twilio/twilio-oai twilio_api_v2010,
//                  CreateMessage, UpdateMessage)
//                  Errors: {"code","message","more_info","status"}; the step
//                  fails with "twilio: <message> (code <code>)" and value
//                  {"code":<code>} (null when the body has no code), e.g.
//                  21211 invalid number, 21610 unsubscribed, 63016 WhatsApp
//                  freeform message outside the 24-hour window (permanent:
//                  only a template may be sent). A 2xx with status failed/
//                  undelivered and an error_code: value {"code":<error_code>}.
//   push, in_app:  POST /v1/projects/{project}/messages:send, Bearer OAuth 2.0
//                  token, {"message":{"topic","notification":{"title","body"},
//                  "data":{string values}}}; answer 200 {"name":
//                  "projects/{project}/messages/{id}"}: reads name.
//                  https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send
//                  cancel: DELETE /v1/projects/{p}/messages/{id} is the
//                  sandbox's extension: FCM cannot recall a sent message, so
//                  against FCM the compensation gets a 404 (already absent).
//                  Errors: {"error":{"code","message","status","details":
//                  [{"errorCode"}]}}; the step fails with
//                  "fcm: <errorCode or status>: <message>".
// Settings: twilio_account_sid, twilio_from, whatsapp_from (default
// "whatsapp:"+twilio_from), twilio_api_key (optional), fcm_project,
// push_title, fcm_url (optional base URL for FCM; default base_url).
// An unknown channel fails permanently, synchronously, without I/O.
#pragma once

#include <memory>

#include "adapters/services/service_adapter.h"

namespace orch::adapters {

class MessagingAdapter final : public phases::MessageGateway {
 public:
  MessagingAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint);
  ~MessagingAdapter() override;
  // value: {"message_id","channel"} (Twilio message sid / FCM message id)
  void send(const phases::CallContext& ctx, const std::string& channel,
            const std::string& audience, const std::string& body,
            phases::ServiceCallback done) override;
  // One recipient: Twilio's To (WhatsApp gets the "whatsapp:" prefix) or
  // FCM's registration token. value: {"message_id","channel","recipient"};
  // a Twilio refusal carries value {"code":<Twilio's code>}, and its 400
  // with code 21610 (unsubscribed recipient) is permanent with value
  // {"recipient_opted_out":true,"code":21610}.
  void send_to(const phases::CallContext& ctx, const std::string& channel,
               const std::string& recipient, const std::string& body,
               phases::ServiceCallback done) override;
  // Compensation. value: {"message_id"} (+ "already_absent":true on 404)
  void cancel(const phases::CallContext& ctx, const std::string& channel,
              const std::string& message_id, phases::ServiceCallback done) override;

  // Both gateways (Twilio and FCM) share the "messaging" service's guard.
  void protect(ServiceGuard* guard, Scheduler scheduler, observability::Metrics* metrics);

  class Sender;

 private:
  void send_twilio(const phases::CallContext& ctx, const std::string& channel,
                   const std::string& to, const std::string& body, phases::ServiceCallback done);
  // `target`: {"topic": t} or {"token": t}.
  void send_fcm(const phases::CallContext& ctx, const std::string& channel, nlohmann::json target,
                const std::string& body, phases::ServiceCallback done);

  std::unique_ptr<Sender> twilio_;
  std::unique_ptr<Sender> fcm_;
  ServiceEndpoint endpoint_;
};

}  // namespace orch::adapters
