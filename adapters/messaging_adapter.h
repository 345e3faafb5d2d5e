// SMS / WhatsApp through the Twilio Messages API and push / in-app through
// FCM HTTP v1 (MessageGateway), both at the "messaging" endpoint:
//   sms, whatsapp: POST /2010-04-01/Accounts/{sid}/Messages.json (form To,
//                  From, Body; WhatsApp numbers get the "whatsapp:" prefix),
//                  HTTP Basic (account sid or twilio_api_key : token);
//                  cancel: POST .../Messages/{id}.json Status=canceled
//   push, in_app:  POST /v1/projects/{project}/messages:send
//                  {"message":{"topic","notification":{"title","body"},"data"}},
//                  Bearer token; cancel: DELETE /v1/projects/{p}/messages/{id}
// Settings: twilio_account_sid, twilio_from, whatsapp_from (default
// "whatsapp:"+twilio_from), twilio_api_key (optional), fcm_project,
// push_title, fcm_url (optional base URL for FCM; default base_url).
// An unknown channel fails permanently, synchronously, without I/O.
#pragma once

#include <memory>

#include "adapters/service_adapter.h"

namespace orch::adapters {

class MessagingAdapter final : public phases::MessageGateway {
 public:
  MessagingAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint);
  ~MessagingAdapter() override;
  // value: {"message_id","channel"} (Twilio message sid / FCM message id)
  void send(const phases::CallContext& ctx, const std::string& channel,
            const std::string& audience, const std::string& body,
            phases::ServiceCallback done) override;
  // Compensation. value: {"message_id"} (+ "already_absent":true on 404)
  void cancel(const phases::CallContext& ctx, const std::string& channel,
              const std::string& message_id, phases::ServiceCallback done) override;

  // Both gateways (Twilio and FCM) share the "messaging" service's guard.
  void protect(ServiceGuard* guard, Scheduler scheduler, observability::Metrics* metrics);

  class Sender;

 private:
  std::unique_ptr<Sender> twilio_;
  std::unique_ptr<Sender> fcm_;
  ServiceEndpoint endpoint_;
};

}  // namespace orch::adapters
