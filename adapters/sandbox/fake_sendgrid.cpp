// SendGrid: POST /v3/mail/send (202 + X-Message-Id), GET
// /v3/messages/{msg_id}, POST /v3/user/scheduled_sends.
#include <string>

#include "adapters/sandbox/fake_services.h"
#include "engine/json/json_object.h"

namespace orch::sandbox {

using nlohmann::json;
using http::Response;

namespace {

// How many sent emails GET /v3/messages/{msg_id} can still find.
constexpr std::size_t kSentEmailsKept = 10000;

}  // namespace

Response sendgrid_error(int status, const std::string& field, const std::string& message) {
  return json_response(
      status, {{"errors", json::array({{{"message", message},
                                        {"field", field.empty() ? json(nullptr) : json(field)},
                                        {"help", nullptr}}})}});
}

Response sendgrid_send(Sandbox::State& s, Call& c) {
  const json& b = c.body;
  auto* pers = obj_of(b, "personalizations");
  if (!pers || !pers->is_array() || pers->empty())
    return sendgrid_error(400, "personalizations",
                          "The personalizations field is required and must have at least "
                          "one personalization.");
  bool subject_everywhere = !str_of(b, "subject").empty();
  for (const auto& p : *pers) {
    auto* to = obj_of(p, "to");
    if (!to || !to->is_array() || to->empty())
      return sendgrid_error(400, "personalizations.0.to",
                            "The to array is required for all personalization objects, "
                            "and must have at least one email object with a valid email "
                            "address.");
    for (const auto& r : *to)
      if (str_of(r, "email").find('@') == std::string::npos)
        return sendgrid_error(400, "personalizations.0.to",
                              "Does not contain a valid address.");
    if (!subject_everywhere && str_of(p, "subject").empty())
      return sendgrid_error(400, "subject",
                            "The subject is required. You can get around this requirement "
                            "if you use a template with a subject defined or if every "
                            "personalization has a subject defined.");
  }
  auto* from = obj_of(b, "from");
  if (!from || str_of(*from, "email").find('@') == std::string::npos)
    return sendgrid_error(400, "from.email",
                          "The from object must be provided for every email send. It is an "
                          "object that requires an email parameter, but may also contain a "
                          "name parameter.");
  auto* content = obj_of(b, "content");
  if (!content || !content->is_array() || content->empty())
    return sendgrid_error(400, "content",
                          "Unless a valid template_id is provided, the content parameter is "
                          "required. There must be at least one defined content block.");
  for (const auto& part : *content)
    if (str_of(part, "type").empty() || str_of(part, "value").empty())
      return sendgrid_error(400, "content.0.value",
                            "The content value must be a string at least one character in "
                            "length.");
  std::string batch = str_of(b, "batch_id");
  if (!batch.empty()) s.sendgrid_batches.emplace(batch, "scheduled");
  std::string msg_id = hex_id(s.next_id(), 22, 0x5e9d);
  const json& first = (*pers)[0];
  std::string subject = str_of(first, "subject");
  if (subject.empty()) subject = str_of(b, "subject");
  c.recipient = str_of((*obj_of(first, "to"))[0], "email");
  s.sendgrid_messages[msg_id] = {str_of(*from, "email"), c.recipient, std::move(subject)};
  s.sendgrid_message_order.push_back(msg_id);
  if (s.sendgrid_message_order.size() > kSentEmailsKept) {
    s.sendgrid_messages.erase(s.sendgrid_message_order.front());
    s.sendgrid_message_order.pop_front();
  }
  Response r;
  r.status = 202;
  r.headers.emplace_back("X-Message-Id", std::move(msg_id));
  return r;
}

// GET /v3/messages/{msg_id}: what was sent, as SendGrid's Email Activity
// answers it (the fields the sandbox knows).
Response sendgrid_message(Sandbox::State& s, Call& c) {
  auto it = s.sendgrid_messages.find(c.seg[2]);
  if (it == s.sendgrid_messages.end()) return sendgrid_error(404, "msg_id", "message not found");
  const Sandbox::State::SentEmail& m = it->second;
  return json_response(200, json_object("msg_id", it->first, "from_email", m.from_email,
                                        "to_email", m.to_email, "subject", m.subject,
                                        "status", "delivered"));
}

Response sendgrid_scheduled(Sandbox::State& s, Call& c) {
  std::string batch = str_of(c.body, "batch_id");
  std::string status = str_of(c.body, "status");
  if (batch.empty()) return sendgrid_error(400, "batch_id", "batch_id is required");
  if (status != "cancel" && status != "pause")
    return sendgrid_error(400, "status", "status must be either cancel or pause");
  auto it = s.sendgrid_batches.find(batch);
  if (it == s.sendgrid_batches.end())
    return sendgrid_error(404, "batch_id", "batch id not found");
  it->second = status;
  return json_response(201, {{"batch_id", batch}, {"status", status}});
}

}  // namespace orch::sandbox
