#include "adapters/services/messaging_adapter.h"
#include "engine/json/json_text.h"
#include "engine/json/json_object.h"

#include <cctype>
#include <utility>

namespace orch::adapters {

using nlohmann::json;

namespace {

// Twilio: "<message> (code <code>)".
std::string twilio_reason(const http::Response& res) {
  const json body = error_body(res.body);
  std::string message = json_string(body, "message");
  if (message.empty()) return error_detail(res.body);
  if (auto code = body.find("code"); code != body.end() && code->is_number_integer())
    message += " (code " + std::to_string(code->get<std::int64_t>()) + ")";
  return message;
}

// Twilio: {"code": <its error code>} when the body has one, else null.
json twilio_value(const http::Response& res) {
  const json body = error_body(res.body);
  if (!body.is_object()) return json();
  auto code = body.find("code");
  if (code == body.end() || !code->is_number_integer()) return json();
  return {{"code", code->get<std::int64_t>()}};
}

// Google APIs: "<FCM errorCode, else the canonical status>: <message>".
std::string fcm_reason(const http::Response& res) {
  const json body = error_body(res.body);
  auto error = body.is_object() ? body.find("error") : body.end();
  if (error == body.end() || !error->is_object()) return error_detail(res.body);
  std::string code = json_string(*error, "status");
  if (auto details = error->find("details"); details != error->end() && details->is_array())
    for (const auto& d : *details)
      if (std::string ec = json_string(d, "errorCode"); !ec.empty()) code = ec;
  std::string message = json_string(*error, "message");
  if (code.empty()) return message;
  return message.empty() ? code : code + ": " + message;
}

}  // namespace

class MessagingAdapter::Sender final : public ServiceAdapter {
 public:
  using Reason = std::string (*)(const http::Response&);
  using ErrorValue = json (*)(const http::Response&);
  Sender(http::HttpTransport& transport, std::string service, ServiceEndpoint endpoint,
         Reason reason, ErrorValue error_value = nullptr)
      : ServiceAdapter(transport, std::move(service), std::move(endpoint)),
        reason_(reason),
        error_value_(error_value) {}
  using ServiceAdapter::add_bearer;
  using ServiceAdapter::add_secret;
  using ServiceAdapter::execute;
  using ServiceAdapter::fail_now;

 protected:
  std::string error_reason(const http::Response& res) const override { return reason_(res); }
  json error_value(const http::Response& res) const override {
    return error_value_ ? error_value_(res) : json();
  }

 private:
  Reason reason_;
  ErrorValue error_value_;
};

namespace {

enum class Kind { twilio, fcm, unknown };

Kind kind_of(const std::string& channel) {
  if (channel == "sms" || channel == "whatsapp") return Kind::twilio;
  if (channel == "push" || channel == "in_app" || channel == "in-app" || channel == "inapp")
    return Kind::fcm;
  return Kind::unknown;
}

bool has_prefix(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// Twilio's "Attempt to send to unsubscribed recipient" (the recipient
// answered STOP).
constexpr int kTwilioUnsubscribed = 21610;

}  // namespace

MessagingAdapter::MessagingAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint)
    : endpoint_(std::move(endpoint)) {
  std::string sid = endpoint_.setting("twilio_account_sid", "AC00000000000000000000000000000000");
  std::string user = endpoint_.setting("twilio_api_key", sid);
  std::string basic = base64_encode(user + ":" + endpoint_.token);
  twilio_ = std::make_unique<Sender>(transport, "twilio", endpoint_, twilio_reason, twilio_value);
  twilio_->add_secret(basic);
  ServiceEndpoint fcm = endpoint_;
  fcm.base_url = endpoint_.setting("fcm_url", endpoint_.base_url);
  fcm_ = std::make_unique<Sender>(transport, "fcm", std::move(fcm), fcm_reason);
  fcm_->add_secret(basic);
}

MessagingAdapter::~MessagingAdapter() = default;

void MessagingAdapter::send(const phases::CallContext& ctx, const std::string& channel,
                            const std::string& audience, const std::string& body,
                            phases::ServiceCallback done) {
  Kind kind = kind_of(channel);
  if (kind == Kind::twilio) return send_twilio(ctx, channel, audience, body, std::move(done));
  if (kind == Kind::fcm) {
    std::string topic = audience;
    if (has_prefix(topic, "/topics/")) topic = topic.substr(8);
    // FCM topics match [a-zA-Z0-9-_.~%]+.
    for (auto& ch : topic) {
      unsigned char u = static_cast<unsigned char>(ch);
      if (!(std::isalnum(u) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '%'))
        ch = '-';
    }
    if (topic.empty()) topic = "all";
    return send_fcm(ctx, channel, {{"topic", topic}}, body, std::move(done));
  }
  twilio_->fail_now("unsupported messaging channel '" + channel + "'", done);
}

void MessagingAdapter::send_to(const phases::CallContext& ctx, const std::string& channel,
                               const std::string& recipient, const std::string& body,
                               phases::ServiceCallback done) {
  Kind kind = kind_of(channel);
  if (kind == Kind::fcm) {
    send_fcm(ctx, channel, {{"token", recipient}}, body,
             [recipient, done = std::move(done)](phases::ServiceResult r) {
               if (r.ok()) r.value["recipient"] = recipient;
               done(std::move(r));
             });
    return;
  }
  if (kind != Kind::twilio)
    return twilio_->fail_now("unsupported messaging channel '" + channel + "'", done);
  send_twilio(ctx, channel, recipient, body,
              [recipient, done = std::move(done)](phases::ServiceResult r) {
                if (r.ok()) {
                  r.value["recipient"] = recipient;
                } else if (r.http_status == 400 && r.value.is_object() &&
                           r.value.value("code", 0) == kTwilioUnsubscribed) {
                  r.value["recipient_opted_out"] = true;
                }
                done(std::move(r));
              });
}

void MessagingAdapter::send_twilio(const phases::CallContext& ctx, const std::string& channel,
                                   const std::string& to_address, const std::string& body,
                                   phases::ServiceCallback done) {
  Exchange ex;
  ex.method = "POST";
  std::string sid = endpoint_.setting("twilio_account_sid", "AC00000000000000000000000000000000");
  std::string from = endpoint_.setting("twilio_from", "+15005550006");
  std::string to = to_address;
  if (channel == "whatsapp") {
    from = endpoint_.setting("whatsapp_from", has_prefix(from, "whatsapp:") ? from : "whatsapp:" + from);
    if (!has_prefix(to, "whatsapp:")) to = "whatsapp:" + to;
  }
  ex.target = "/2010-04-01/Accounts/" + url_encode(sid) + "/Messages.json";
  std::vector<std::pair<std::string, std::string>> fields = {{"To", to}, {"From", from}, {"Body", body}};
  if (!ctx.status_callback.empty()) fields.emplace_back("StatusCallback", ctx.status_callback);
  ex.body = form_encode(fields);
  ex.content_type = "application/x-www-form-urlencoded";
  std::string user = endpoint_.setting("twilio_api_key", sid);
  ex.headers.emplace_back("Authorization", "Basic " + base64_encode(user + ":" + endpoint_.token));
  twilio_->execute(ctx, std::move(ex),
                   [channel](const http::Response& res, phases::ServiceResult& out) {
                     json b;
                     static const JsonProjection kFields{"sid", "status", "error_code"};
                     if (!parse_object(res, kFields, b, out)) return;
                     std::string msid = json_string(b, "sid");
                     if (msid.empty()) {
                       out.outcome = phases::ServiceOutcome::permanent;
                       out.error = "unusable response body: no sid";
                       return;
                     }
                     std::string status = json_string(b, "status");
                     if (status == "failed" || status == "undelivered") {
                       out.outcome = phases::ServiceOutcome::permanent;
                       out.error = "twilio: message status " + status;
                       if (auto code = b.find("error_code");
                           code != b.end() && code->is_number_integer()) {
                         out.error += " (code " + std::to_string(code->get<std::int64_t>()) + ")";
                         out.value = {{"code", *code}};
                       }
                       return;
                     }
                     out.value = {{"message_id", msid}, {"channel", channel}};
                   },
                   std::move(done));
}

void MessagingAdapter::send_fcm(const phases::CallContext& ctx, const std::string& channel,
                                json target, const std::string& body,
                                phases::ServiceCallback done) {
  Exchange ex;
  ex.method = "POST";
  std::string project = endpoint_.setting("fcm_project", "campaign-app");
  json message = std::move(target);
  message["notification"] = {{"title", endpoint_.setting("push_title", "Campaign update")},
                             {"body", body}};
  message["data"] = {{"channel", channel}};
  ex.target = "/v1/projects/" + url_encode(project) + "/messages:send";
  ex.body = dump_json(json_object("message", std::move(message)));
  fcm_->add_bearer(ex.headers);
  fcm_->execute(ctx, std::move(ex),
                [channel](const http::Response& res, phases::ServiceResult& out) {
                  json b;
                  static const JsonProjection kFields{"name"};
                  if (!parse_object(res, kFields, b, out)) return;
                  std::string name = json_string(b, "name");
                  std::string id = name.substr(name.rfind('/') + 1);
                  if (name.empty() || id.empty()) {
                    out.outcome = phases::ServiceOutcome::permanent;
                    out.error = "unusable response body: no message name";
                    return;
                  }
                  out.value = {{"message_id", id}, {"channel", channel}};
                },
                std::move(done));
}

void MessagingAdapter::cancel(const phases::CallContext& ctx, const std::string& channel,
                              const std::string& message_id, phases::ServiceCallback done) {
  Kind kind = kind_of(channel);
  Exchange ex;
  ex.compensation = true;
  ex.absent_value = {{"message_id", message_id}};
  auto normalize = [message_id](const http::Response&, phases::ServiceResult& out) {
    out.value = {{"message_id", message_id}};
  };
  if (kind == Kind::twilio) {
    std::string sid =
        endpoint_.setting("twilio_account_sid", "AC00000000000000000000000000000000");
    std::string user = endpoint_.setting("twilio_api_key", sid);
    ex.method = "POST";
    ex.target = "/2010-04-01/Accounts/" + url_encode(sid) + "/Messages/" +
                url_encode(message_id) + ".json";
    ex.body = form_encode({{"Status", "canceled"}});
    ex.content_type = "application/x-www-form-urlencoded";
    ex.headers.emplace_back("Authorization", "Basic " + base64_encode(user + ":" + endpoint_.token));
    twilio_->execute(ctx, std::move(ex), normalize, std::move(done));
    return;
  }
  if (kind == Kind::fcm) {
    std::string project = endpoint_.setting("fcm_project", "campaign-app");
    ex.method = "DELETE";
    ex.target = "/v1/projects/" + url_encode(project) + "/messages/" + url_encode(message_id);
    fcm_->add_bearer(ex.headers);
    fcm_->execute(ctx, std::move(ex), normalize, std::move(done));
    return;
  }
  twilio_->fail_now("unsupported messaging channel '" + channel + "'", done);
}

void MessagingAdapter::protect(ServiceGuard* guard, Scheduler scheduler,
                               observability::Metrics* metrics) {
  twilio_->protect(guard, scheduler, metrics);
  fcm_->protect(guard, std::move(scheduler), metrics);
}

}  // namespace orch::adapters
