// Delivery receipts: a gateway's status callbacks for the messages of
// broadcasts. Twilio posts form-encoded MessageSid, MessageStatus and
// ErrorCode to the StatusCallback URL of each message, which names the
// message (?broadcast_id=&customer_id=). A receipt only moves a message's
// delivery forward: queued < sending < sent < delivered < read, and
// undelivered and failed are final, so a late "sent" never overwrites
// "delivered" or "failed".
#include "api/router/problem.h"
#include "api/router/replies.h"
#include "api/routes/api_routes.h"
#include "engine/journal/journal.h"
#include "engine/time/clock.h"

namespace orch::api {

using http::Request;
using nlohmann::json;

namespace {

// The rank of a delivery status; -1 for one Twilio does not send.
int rank_of(const std::string& status) {
  static const std::map<std::string, int> kRanks = {
      {"accepted", 0}, {"scheduled", 0}, {"queued", 1},      {"sending", 2}, {"sent", 3},
      {"delivered", 4}, {"read", 5},     {"undelivered", 6}, {"failed", 6},
  };
  auto it = kRanks.find(status);
  return it == kRanks.end() ? -1 : it->second;
}

std::map<std::string, std::string> form_fields(const std::string& body) {
  std::map<std::string, std::string> fields;
  std::size_t at = 0;
  while (at <= body.size()) {
    std::size_t end = body.find('&', at);
    if (end == std::string::npos) end = body.size();
    const std::string pair = body.substr(at, end - at);
    const std::size_t eq = pair.find('=');
    if (!pair.empty())
      fields[http::percent_decode(pair.substr(0, eq))] =
          eq == std::string::npos ? "" : http::percent_decode(pair.substr(eq + 1));
    at = end + 1;
  }
  return fields;
}

void post_status(ApiContext& ctx, const Call& c) {
  const Request& r = c.request;
  if (c.params[0] != "twilio")
    return c.respond(not_found(r, "no gateway '" + c.params[0] + "' (receipts come from twilio)"));
  std::vector<phases::FieldError> errors;
  check_query_names(r, {"broadcast_id", "customer_id"}, &errors);
  const std::string broadcast = r.query_param("broadcast_id").value_or("");
  const std::string customer = r.query_param("customer_id").value_or("");
  if (broadcast.empty()) errors.push_back({"broadcast_id", "is required"});
  if (customer.empty()) errors.push_back({"customer_id", "is required"});
  if (!errors.empty()) return c.respond(bad_query(r, errors));
  auto fields = form_fields(r.body);
  const std::string sid = fields["MessageSid"], status = fields["MessageStatus"];
  if (sid.empty()) errors.push_back({"MessageSid", "is required"});
  if (rank_of(status) < 0) errors.push_back({"MessageStatus", "is not a Twilio message status"});
  if (!errors.empty()) return c.respond(invalid(r, "invalid status callback", errors));
  engine::FanOutItem item;
  bool found = false;
  if (Status s = ctx.store.fan_outs().fan_out_item(broadcast, customer, &item, &found); !s)
    return c.respond(unavailable(r, s));
  if (!found)
    return c.respond(not_found(r, "no message of broadcast '" + broadcast + "' to customer '" +
                                      customer + "'"));
  json detail = json::parse(item.detail, nullptr, false);
  if (!detail.is_object() || detail.value("message_sid", "") != sid)
    return c.respond(problem(409, "wrong-state", "Conflict",
                             "MessageSid " + sid + " is not the message sent to this customer",
                             std::string(r.path())));
  const std::string before = detail.value("delivery", "");
  const bool forward = before.empty() || (rank_of(status) > rank_of(before) && rank_of(before) < 6);
  json answer = {{"broadcast_id", broadcast}, {"customer_id", customer}, {"applied", forward}};
  if (!forward) {
    answer["delivery"] = before;
    return c.respond(ok_json(200, answer));
  }
  detail["delivery"] = status;
  if (!fields["ErrorCode"].empty()) detail["delivery_error"] = fields["ErrorCode"];
  answer["delivery"] = status;
  item.detail = detail.dump();
  item.updated_ms = ctx.clock.now_ms();
  engine::FanOutUpdate update{item, item.status};
  ctx.journal->run_on_writer(
      [update](engine::JournalStore& store) {
        return store.fan_outs().update_fan_out_items({update}, nullptr);
      },
      [respond = c.respond, r, answer](const Status& s) {
        if (!s)
          return respond(unavailable(r, s));
        respond(ok_json(200, answer));
      });
}

}  // namespace

std::vector<Route> webhook_routes() {
  // An operator's: a receipt changes a message's record. A gateway that
  // cannot send a token is let in by auth.open_paths (docs/reference).
  return {{{"POST", "/v1/webhooks/{gateway}/status", Permission::operate}, post_status}};
}

}  // namespace orch::api
