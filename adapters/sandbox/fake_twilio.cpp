// Twilio: POST /2010-04-01/Accounts/{sid}/Messages.json, POST|GET
// /2010-04-01/Accounts/{sid}/Messages/{msid}.json; the recipients who
// opted out (answered STOP), refused with error 21610 as Twilio does; and
// Twilio's magic test numbers (https://www.twilio.com/docs/iam/test-credentials).
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "adapters/sandbox/fake_services.h"

namespace orch::sandbox {

using nlohmann::json;
using http::Response;

Response twilio_error(int status, int code, const std::string& message) {
  return json_response(status, {{"code", code},
                                {"message", message},
                                {"more_info", "https://www.twilio.com/docs/errors/" + std::to_string(code)},
                                {"status", status}});
}

namespace {

json twilio_message(const std::string& account, const std::string& sid, const std::string& to,
                    const std::string& from, const std::string& body, const std::string& status) {
  std::string now = rfc2822(unix_now());
  return {{"sid", sid},
          {"account_sid", account},
          {"to", to},
          {"from", from},
          {"body", body},
          {"status", status},
          {"num_segments", "1"},
          {"num_media", "0"},
          {"direction", "outbound-api"},
          {"api_version", "2010-04-01"},
          {"price", nullptr},
          {"error_code", nullptr},
          {"error_message", nullptr},
          {"date_created", now},
          {"date_updated", now},
          {"uri", "/2010-04-01/Accounts/" + account + "/Messages/" + sid + ".json"}};
}

std::string twilio_sid(const Call& c) {
  std::string_view f(c.seg[4]);
  return std::string(f.substr(0, f.size() - 5));  // strip ".json"
}

Response twilio_not_found(const Call& c) {
  return twilio_error(404, 20404,
                      "The requested resource " + std::string(c.req.path()) + " was not found");
}

// The To numbers Twilio's test credentials refuse, with their error code,
// on both channels (the number without "whatsapp:").
struct MagicNumber {
  std::string_view number;
  int code;
};
constexpr MagicNumber kMagicTo[] = {
    {"+15005550001", 21211},  // invalid number
    {"+15005550002", 21612},  // cannot route
    {"+15005550003", 21408},  // no international permission
    {"+15005550004", 21610},  // blocked (unsubscribed)
    {"+15005550009", 21614},  // not a mobile number
};
// WhatsApp only: outside the 24-hour customer service window, where only a
// template may be sent.
constexpr std::string_view kWhatsAppOutsideWindow = "+15005550016";

// Twilio's refusal of a magic To number (`to` as sent), or nullopt.
std::optional<Response> magic_number_refusal(const std::string& to, const std::string& from,
                                             const std::string& recipient, bool whatsapp) {
  if (whatsapp && recipient == kWhatsAppOutsideWindow)
    return twilio_error(400, 63016,
                        "Failed to send freeform message because you are outside the allowed "
                        "window. If you are using WhatsApp, please use a Message Template.");
  for (const MagicNumber& m : kMagicTo) {
    if (recipient != m.number) continue;
    switch (m.code) {
      case 21211:
        return twilio_error(400, m.code, "The 'To' number " + to + " is not a valid phone number.");
      case 21612:
        return twilio_error(400, m.code,
                            "The 'To' phone number: " + to +
                                ", is not currently reachable using the 'From' phone number: " +
                                from + " via " + (whatsapp ? "WhatsApp." : "SMS."));
      case 21408:
        return twilio_error(400, m.code,
                            "Permission to send an SMS has not been enabled for the region "
                            "indicated by the 'To' number: " + to + ".");
      case 21610:
        return twilio_error(400, m.code, "Attempt to send to unsubscribed recipient");
      default:  // 21614
        return twilio_error(400, m.code, "'To' number " + to + " is not a valid mobile number.");
    }
  }
  return std::nullopt;
}

}  // namespace

Response twilio_send(Sandbox::State& s, Call& c) {
  const std::string& account = c.seg[2];
  std::string to = c.field("To").value_or("");
  std::string from = c.field("From").value_or("");
  std::string body = c.field("Body").value_or("");
  if (to.empty()) return twilio_error(400, 21604, "A 'To' phone number is required.");
  if (from.empty() && !c.field("MessagingServiceSid"))
    return twilio_error(400, 21603, "A 'From' phone number is required.");
  if (body.empty() && !c.field("MediaUrl"))
    return twilio_error(400, 21602, "Message body is required.");
  if (!from.empty() && starts_with(to, "whatsapp:") != starts_with(from, "whatsapp:"))
    return twilio_error(400, 21910, "Invalid From and To pair. From and To should be of the same channel");
  const bool whatsapp = starts_with(to, "whatsapp:");
  const std::string recipient = whatsapp ? to.substr(9) : to;
  if (auto it = s.twilio_opt_outs.find(recipient);
      it != s.twilio_opt_outs.end() && it->second.count(whatsapp ? "whatsapp" : "sms"))
    return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient");
  if (auto refused = magic_number_refusal(to, from, recipient, whatsapp)) return std::move(*refused);
  c.recipient = recipient;
  std::string sid = "SM" + hex_id(s.next_id(), 32, 0x7a1);
  s.twilio_messages[sid] = "queued";
  return json_response(201, twilio_message(account, sid, to, from, body, "queued"));
}

Response twilio_update(Sandbox::State& s, Call& c) {
  std::string sid = twilio_sid(c);
  auto it = s.twilio_messages.find(sid);
  if (it == s.twilio_messages.end()) return twilio_not_found(c);
  std::string status = c.field("Status").value_or("");
  if (status != "canceled")
    return twilio_error(400, 21220, "Invalid parameter: Status must be 'canceled'");
  it->second = "canceled";
  return json_response(200, twilio_message(c.seg[2], sid, "", "", "", "canceled"));
}

Response twilio_fetch(Sandbox::State& s, Call& c) {
  std::string sid = twilio_sid(c);
  auto it = s.twilio_messages.find(sid);
  if (it == s.twilio_messages.end()) return twilio_not_found(c);
  return json_response(200, twilio_message(c.seg[2], sid, "", "", "", it->second));
}

// GET lists, POST {"recipient", "channels"? (sms, whatsapp; default both)}
// adds (201), DELETE removes one or all.
Response twilio_opt_outs_control(Sandbox::State& s, const http::Request& req,
                                 const std::vector<std::string>& seg) {
  const std::string& m = req.method;
  if (seg.size() == 3) {
    if (m != "DELETE") return problem(405, "method not allowed; use DELETE");
    if (!s.twilio_opt_outs.erase(seg[2])) return problem(404, "no opt-out for " + seg[2]);
    return json_response(200, {{"recipient", seg[2]}, {"deleted", true}});
  }
  if (seg.size() != 2) return problem(404, "unknown sandbox endpoint");
  if (m == "GET") {
    json list = json::array();
    for (const auto& [recipient, channels] : s.twilio_opt_outs)
      list.push_back({{"recipient", recipient}, {"channels", channels}});
    return json_response(200, {{"opt_outs", std::move(list)}});
  }
  if (m == "DELETE") {
    const std::size_t n = s.twilio_opt_outs.size();
    s.twilio_opt_outs.clear();
    return json_response(200, {{"deleted", n}});
  }
  if (m != "POST") return problem(405, "method not allowed; use GET, POST, DELETE");
  json body = json::parse(req.body, nullptr, false);
  const std::string recipient = str_of(body, "recipient");
  if (recipient.empty()) return problem(400, "recipient must be a non-empty string");
  std::set<std::string> channels = {"sms", "whatsapp"};
  if (const json* list = obj_of(body, "channels")) {
    if (!list->is_array() || list->empty()) return problem(400, "channels must be a non-empty array");
    channels.clear();
    for (const json& ch : *list) {
      if (ch != "sms" && ch != "whatsapp") return problem(400, "channels are sms and whatsapp");
      channels.insert(ch.get<std::string>());
    }
  }
  s.twilio_opt_outs[recipient].insert(channels.begin(), channels.end());
  return json_response(201, {{"recipient", recipient}, {"channels", s.twilio_opt_outs[recipient]}});
}

}  // namespace orch::sandbox
