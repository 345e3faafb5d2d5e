#include "phases/broadcast/message_send.h"

#include <cstdint>
#include <cctype>
#include <chrono>
#include <memory>

namespace orch::phases::broadcast {

using engine::ItemOutcome;
using nlohmann::json;

namespace {

constexpr std::chrono::milliseconds kSendTimeout{10'000};

// A query value percent-encoded (RFC 3986: all but the unreserved).
std::string query_escape(const std::string& value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// What one message needs after send_message() returns.
class MessageSend : public std::enable_shared_from_this<MessageSend> {
 public:
  // `detail`: the item's detail, parsed (an object).
  MessageSend(const SendJob& job, const engine::FanOutItem& item, json detail, int attempt,
              std::function<void(ItemOutcome)> done)
      : job_(job),
        customer_(item.key),
        key_(message_key(job.broadcast_id, item.key)),
        attempt_(attempt),
        detail_(std::move(detail)),
        done_(std::move(done)) {}

  void begin();

 private:
  void on_reserved(GateResult g);
  void send(const std::string& reservation_id);
  void on_sent(const std::string& reservation_id, ServiceResult r);
  void opt_out(const ServiceResult& r);
  void finish(ItemOutcome outcome) {
    // Settled, or backing off for a while: the actor need not stay in memory.
    job_.gate->done_with(customer_);
    done_(std::move(outcome));
  }
  std::string detail_with(const char* field, const json& value) {
    detail_[field] = value;
    return detail_.dump();
  }

  const SendJob job_;
  const std::string customer_;
  const std::string key_;
  const int attempt_;
  json detail_;
  std::function<void(ItemOutcome)> done_;
};

void MessageSend::begin() {
  std::string pending;
  switch (job_.gate->message_state(customer_, key_, &pending)) {
    case MessageState::committed:
      return finish(ItemOutcome::finished("sent", {}, "already sent (recorded by the customer's actor)"));
    case MessageState::pending:
      return send(pending);
    case MessageState::unknown:
      break;
  }
  const json request = {{"campaign_id", job_.broadcast_id}, {"campaign_name", job_.name},
                        {"channel", job_.channel},          {"message_id", key_},
                        {"on_capped", "drop"}};
  // The actor is asked only when it holds no reservation for the message
  // (message_state above), so every reserve here is meant to be a new one:
  // its key is unique to this try. (A key per attempt would be reused by a
  // try that spent no attempt, or by a restart that lost the attempt's
  // count, and get back a reservation already released.)
  static std::uint64_t tries = 0;
  const std::string idempotency = "reserve:" + key_ + "#" + std::to_string(job_.round) + "." +
                                  std::to_string(attempt_) + "." + std::to_string(++tries) + "." +
                                  std::to_string(reinterpret_cast<std::uintptr_t>(this));
  job_.gate->reserve(customer_, request, idempotency,
                     [self = shared_from_this()](GateResult g) { self->on_reserved(std::move(g)); });
}

void MessageSend::on_reserved(GateResult g) {
  if (!g.ok) return finish(ItemOutcome::retry("customer's actor: " + g.error));
  const std::string status = g.answer.value("status", "");
  if (status != "granted")
    return finish(ItemOutcome::finished("skipped", {}, g.answer.value("reason", status)));
  const std::string id = g.answer.value("reservation_id", "");
  // A repeat of this attempt's reservation (after a crash) whose send failed
  // and was released: the grant is spent; the next attempt reserves afresh.
  std::string pending;
  if (job_.gate->message_state(customer_, key_, &pending) != MessageState::pending || pending != id)
    return finish(ItemOutcome::retry("reservation " + id + " was released before it was used"));
  send(id);
}

void MessageSend::send(const std::string& reservation_id) {
  const std::string to = detail_.value("to", "");
  const std::string content = detail_.value("content", "");
  // One request an attempt: the fan-out counts the attempts and backs off.
  CallContext ctx{key_, kSendTimeout, "", 0, ""};
  if (!job_.receipts_url.empty() && job_.channel != "email" && job_.channel != "push")
    ctx.status_callback = job_.receipts_url + "?broadcast_id=" + query_escape(job_.broadcast_id) +
                          "&customer_id=" + query_escape(customer_);
  auto on_sent = [self = shared_from_this(), reservation_id](ServiceResult r) {
    self->on_sent(reservation_id, std::move(r));
  };
  if (job_.channel == "email") {
    EmailMessage message{job_.name, content, "", {to}};
    return job_.email->send(ctx, message, std::move(on_sent));
  }
  job_.messaging->send_to(ctx, job_.channel, to, content, std::move(on_sent));
}

void MessageSend::on_sent(const std::string& reservation_id, ServiceResult r) {
  auto self = shared_from_this();
  if (r.ok()) {
    std::string id = r.value.value("message_id", "");
    // Sent: it counts as sent even if recording it fails (the reservation
    // then expires after its TTL).
    return job_.gate->commit(customer_, reservation_id, [self, id](GateResult g) {
      self->finish(ItemOutcome::finished("sent", self->detail_with("message_sid", id),
                                         g.ok ? "" : "sent; recording it failed: " + g.error));
    });
  }
  // Not sent (the breaker open, the bulkhead full): the reservation is kept
  // for the next try, which finds it pending and sends with it.
  if (r.outcome == ServiceOutcome::unavailable)
    return finish(ItemOutcome::defer(r.error, r.retry_after));
  job_.gate->release(customer_, reservation_id, [self, r = std::move(r)](GateResult) {
    if (r.value.is_object() && r.value.value("recipient_opted_out", false)) return self->opt_out(r);
    switch (r.outcome) {
      case ServiceOutcome::retryable:
        return self->finish(ItemOutcome::retry(r.error, r.retry_after));
      default:
        return self->finish(ItemOutcome::fail(r.error));
    }
  });
}

void MessageSend::opt_out(const ServiceResult& r) {
  std::string reason = "opted out of " + job_.channel + " (gateway";
  if (r.value.contains("code")) reason += " " + r.value["code"].dump();
  reason += ")";
  job_.gate->opt_out(customer_, job_.channel, [self = shared_from_this(), reason](GateResult g) {
    self->finish(ItemOutcome::finished(
        "skipped", {}, g.ok ? reason : reason + "; recording it failed: " + g.error));
  });
}

}  // namespace

std::string message_key(const std::string& broadcast_id, const std::string& customer_id) {
  return broadcast_id + ":" + customer_id;
}

void send_message(const SendJob& job, const engine::FanOutItem& item, int attempt,
                  std::function<void(ItemOutcome)> done) {
  json detail = json::parse(item.detail, nullptr, false);
  if (!detail.is_object() || detail.value("to", "").empty())
    return done(ItemOutcome::finished(
        "skipped", {}, job.channel == "email" ? "no email address" : "no address for " + job.channel));
  std::make_shared<MessageSend>(job, item, std::move(detail), attempt, std::move(done))->begin();
}

}  // namespace orch::phases::broadcast
