#include "adapters/services/sendgrid_adapter.h"
#include "engine/json/json_text.h"
#include "engine/json/json_object.h"
#include "engine/json/json_writer.h"

#include <chrono>
#include <utility>

namespace orch::adapters {

using nlohmann::json;

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    std::string item = s.substr(start, comma - start);
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::string SendGridAdapter::error_reason(const http::Response& res) const {
  const json body = error_body(res.body);
  auto errors = body.is_object() ? body.find("errors") : body.end();
  if (!body.is_object() || errors == body.end() || !errors->is_array())
    return error_detail(res.body);
  std::string reason;
  for (const auto& e : *errors) {
    std::string message = json_string(e, "message");
    if (message.empty()) continue;
    // The reference's examples write a missing field as the string "null".
    if (std::string field = json_string(e, "field"); !field.empty() && field != "null")
      message += " (field " + field + ")";
    if (!reason.empty()) reason += "; ";
    reason += message;
  }
  return reason;
}

json SendGridAdapter::error_value(const http::Response& res) const {
  const json body = error_body(res.body);
  auto errors = body.is_object() ? body.find("errors") : body.end();
  if (!body.is_object() || errors == body.end() || !errors->is_array()) return json();
  json list = json::array();
  for (const auto& e : *errors) {
    if (!e.is_object()) continue;
    std::string field = json_string(e, "field");
    // The reference's examples write a missing field as the string "null".
    list.push_back({{"message", json_string(e, "message")},
                    {"field", field.empty() || field == "null" ? json() : json(field)}});
  }
  if (list.empty()) return json();
  return {{"errors", std::move(list)}};
}

SendGridAdapter::SendGridAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint)
    : ServiceAdapter(transport, "sendgrid", std::move(endpoint)) {}

void SendGridAdapter::send(const phases::CallContext& ctx, const phases::EmailMessage& message,
                           phases::ServiceCallback done) {
  std::vector<std::string> to = message.to;
  if (to.empty()) to = split_list(setting("to", "subscribers@example.com"));
  long delay = 600;
  try {
    delay = std::stol(setting("send_delay_s", "600"));
  } catch (const std::exception&) {
  }
  Exchange ex;
  ex.method = "POST";
  ex.target = "/v3/mail/send";
  // Written in place, keys in order (see engine/json/json_writer.h).
  JsonWriter w(ex.body);
  w.begin_object();
  if (!message.batch_id.empty()) w.key("batch_id").string(message.batch_id);
  w.key("content").begin_array().begin_object();
  w.key("type").string("text/html").key("value").string(message.html);
  w.end_object().end_array();
  w.key("from").begin_object().key("email").string(setting("from", "campaigns@example.com"));
  if (std::string name = setting("from_name"); !name.empty()) w.key("name").string(name);
  w.end_object();
  w.key("personalizations").begin_array().begin_object().key("to").begin_array();
  for (const auto& r : to) w.begin_object().key("email").string(r).end_object();
  w.end_array().end_object().end_array();
  if (delay > 0) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    w.key("send_at").number(now + delay);
  }
  w.key("subject").string(message.subject);
  w.end_object();
  add_bearer(ex.headers);
  execute(ctx, std::move(ex),
          [batch = message.batch_id](const http::Response& res, phases::ServiceResult& out) {
            auto id = res.header("X-Message-Id");
            out.value = json_object("message_id", id ? std::string(*id) : std::string(),
                                    "batch_id", batch);
          },
          std::move(done));
}

void SendGridAdapter::cancel(const phases::CallContext& ctx, const std::string& batch_id,
                             phases::ServiceCallback done) {
  Exchange ex;
  ex.method = "POST";
  ex.target = "/v3/user/scheduled_sends";
  ex.body = dump_json(json_object("batch_id", batch_id, "status", "cancel"));
  ex.compensation = true;
  ex.absent_value = {{"batch_id", batch_id}};
  add_bearer(ex.headers);
  execute(ctx, std::move(ex),
          [batch_id](const http::Response&, phases::ServiceResult& out) {
            out.value = {{"batch_id", batch_id}};
          },
          std::move(done));
}

}  // namespace orch::adapters
