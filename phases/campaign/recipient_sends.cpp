#include "phases/campaign/recipient_sends.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>
#include <vector>

namespace orch::phases {

using engine::ActivityDone;
using engine::ActivityOutcome;
using engine::ActivityOutcomeKind;
using nlohmann::json;

namespace {

// One send's deadline: the step's own covers them all.
constexpr std::chrono::milliseconds kSendTimeout{30'000};

struct UserOutcome {
  std::string status;  // sent | skipped | failed
  std::string reason;
  ServiceOutcome failure = ServiceOutcome::ok;  // failed: what kind
  int http_status = 0;
  std::chrono::milliseconds retry_after{0};
};

// What the step needs after run() returns (the request's references do not
// outlive it).
struct SendJob {
  std::string workflow_id;
  std::string step_id;
  std::string channel;
  std::string body;
  std::string campaign_name;
  std::string traceparent;
  std::chrono::milliseconds timeout{0};
  int attempt = 0;
  std::vector<std::string> users;
};

// The fan-out: users are started in order, at most kRecipientSendsInFlight
// at a time; each ends in finish(). Callbacks may run before the call that
// takes them returns, so starting is a loop guarded against re-entry.
class RecipientSends : public std::enable_shared_from_this<RecipientSends> {
 public:
  RecipientSends(SendJob job, MessageGateway& gateway, RecipientGate& gate, ActivityDone done)
      : job_(std::move(job)), gateway_(gateway), gate_(gate), done_(std::move(done)),
        outcomes_(job_.users.size()) {}

  void pump();

 private:
  void begin(std::size_t i);
  void on_reserved(std::size_t i, GateResult g);
  void send(std::size_t i, const std::string& reservation_id);
  void on_sent(std::size_t i, const std::string& reservation_id, ServiceResult r);
  void on_opted_out(std::size_t i, const ServiceResult& r);
  void finish(std::size_t i, UserOutcome outcome);
  void complete();
  std::string message_id(std::size_t i) const {
    return job_.workflow_id + ":" + job_.channel + ":" + job_.users[i];
  }
  static UserOutcome failed(std::string reason, ServiceOutcome kind, int http_status = 0,
                            std::chrono::milliseconds retry_after = {}) {
    return {"failed", std::move(reason), kind, http_status, retry_after};
  }

  const SendJob job_;
  MessageGateway& gateway_;
  RecipientGate& gate_;
  ActivityDone done_;
  std::vector<UserOutcome> outcomes_;
  std::size_t next_ = 0, in_flight_ = 0, finished_ = 0;
  bool pumping_ = false, completed_ = false;
};

void RecipientSends::pump() {
  if (pumping_) return;  // the loop below goes on
  pumping_ = true;
  auto keep = shared_from_this();
  while (in_flight_ < kRecipientSendsInFlight && next_ < job_.users.size()) {
    ++in_flight_;
    begin(next_++);
  }
  pumping_ = false;
  if (finished_ == job_.users.size() && !completed_) {
    completed_ = true;
    complete();
  }
}

void RecipientSends::begin(std::size_t i) {
  const std::string& user = job_.users[i];
  std::string pending;
  switch (gate_.message_state(user, message_id(i), &pending)) {
    case MessageState::committed:
      return finish(i, {"sent", "already sent (recorded by the user's actor)"});
    case MessageState::pending:
      return send(i, pending);
    case MessageState::unknown:
      break;
  }
  json request = {{"campaign_id", job_.workflow_id}, {"campaign_name", job_.campaign_name},
                  {"channel", job_.channel},         {"message_id", message_id(i)},
                  {"on_capped", "drop"}};
  const std::string key = "reserve:" + message_id(i) + "#" + std::to_string(job_.attempt);
  gate_.reserve(user, request, key, [self = shared_from_this(), i](GateResult g) {
    self->on_reserved(i, std::move(g));
  });
}

void RecipientSends::on_reserved(std::size_t i, GateResult g) {
  if (!g.ok)
    return finish(i, failed(g.error, g.retryable ? ServiceOutcome::retryable
                                                 : ServiceOutcome::permanent));
  const std::string status = g.answer.value("status", "");
  if (status != "granted") return finish(i, {"skipped", g.answer.value("reason", status)});
  const std::string id = g.answer.value("reservation_id", "");
  // A repeat of this attempt's reservation whose send failed and was
  // released: the grant is spent; the next attempt reserves afresh.
  std::string pending;
  if (gate_.message_state(job_.users[i], message_id(i), &pending) != MessageState::pending ||
      pending != id)
    return finish(i, failed("reservation " + id + " was released before it was used",
                            ServiceOutcome::retryable));
  send(i, id);
}

void RecipientSends::send(std::size_t i, const std::string& reservation_id) {
  CallContext ctx{job_.workflow_id + ":" + job_.step_id + "[" + job_.users[i] + "]",
                  std::min(job_.timeout, kSendTimeout), job_.traceparent, -1, ""};
  gateway_.send_to(ctx, job_.channel, job_.users[i], job_.body,
                   [self = shared_from_this(), i, reservation_id](ServiceResult r) {
                     self->on_sent(i, reservation_id, std::move(r));
                   });
}

void RecipientSends::on_sent(std::size_t i, const std::string& reservation_id, ServiceResult r) {
  const std::string& user = job_.users[i];
  auto self = shared_from_this();
  if (r.ok()) {
    // The message went out: it counts as sent even if recording it fails
    // (the reservation then expires after its TTL).
    return gate_.commit(user, reservation_id, [self, i](GateResult g) {
      self->finish(i, {"sent", g.ok ? "sent" : "sent; recording it failed: " + g.error});
    });
  }
  gate_.release(user, reservation_id, [self, i, r = std::move(r)](GateResult) {
    if (r.value.is_object() && r.value.value("recipient_opted_out", false))
      return self->on_opted_out(i, r);
    self->finish(i, failed(r.error, r.outcome, r.http_status, r.retry_after));
  });
}

void RecipientSends::on_opted_out(std::size_t i, const ServiceResult& r) {
  std::string reason = "opted out of " + job_.channel + " (gateway";
  if (r.value.contains("code")) reason += " " + r.value["code"].dump();
  reason += ")";
  gate_.opt_out(job_.users[i], job_.channel,
                [self = shared_from_this(), i, reason](GateResult g) {
                  self->finish(i, {"skipped", g.ok ? reason
                                                   : reason + "; recording it failed: " + g.error});
                });
}

void RecipientSends::finish(std::size_t i, UserOutcome outcome) {
  outcomes_[i] = std::move(outcome);
  --in_flight_;
  ++finished_;
  pump();
}

// The rule for the step as a whole. Re-runs are idempotent (users already
// sent are not sent again), so:
//  - a send that failed transiently (the gateway's 5xx, 429 or timeout, its
//    breaker open, the user's journal unavailable) fails the step with that
//    kind: the engine retries it (or waits for the service), and the retry
//    sends only to the users not yet sent;
//  - nothing sent and some send failed for good (a bad credential fails
//    every one) fails the step permanently, as the single send would;
//  - otherwise the step succeeds, a user's permanent failure recorded as
//    `failed` with the gateway's reason.
void RecipientSends::complete() {
  json recipients = json::array();
  std::size_t sent = 0, skipped = 0, failures = 0;
  const UserOutcome* first_failure = nullptr;
  const UserOutcome* transient = nullptr;
  std::chrono::milliseconds retry_after{0};
  for (std::size_t i = 0; i < outcomes_.size(); ++i) {
    const UserOutcome& o = outcomes_[i];
    recipients.push_back({{"user_id", job_.users[i]}, {"status", o.status}, {"reason", o.reason}});
    if (o.status == "sent") ++sent;
    if (o.status == "skipped") ++skipped;
    if (o.status != "failed") continue;
    ++failures;
    if (!first_failure) first_failure = &o;
    if (o.failure == ServiceOutcome::retryable || o.failure == ServiceOutcome::unavailable) {
      if (!transient || (transient->failure != ServiceOutcome::retryable &&
                         o.failure == ServiceOutcome::retryable))
        transient = &o;
      retry_after = std::max(retry_after, o.retry_after);
    }
  }
  const std::string counts = std::to_string(failures) + " of " +
                             std::to_string(outcomes_.size()) + " " + job_.channel +
                             " sends failed (" + std::to_string(sent) + " sent)";
  if (transient) {
    const auto kind = transient->failure == ServiceOutcome::retryable
                          ? ActivityOutcomeKind::retryable
                          : ActivityOutcomeKind::unavailable;
    return done_(ActivityOutcome::failure(kind, counts + "; first transient: " + transient->reason,
                                          retry_after, transient->http_status));
  }
  if (sent == 0 && first_failure)
    return done_(ActivityOutcome::failure(ActivityOutcomeKind::permanent,
                                          counts + "; first: " + first_failure->reason, {},
                                          first_failure->http_status));
  done_(ActivityOutcome::success({{"channel", job_.channel},
                                  {"users_targeted", outcomes_.size()},
                                  {"users_sent", sent},
                                  {"users_skipped", skipped},
                                  {"users_failed", failures},
                                  {"recipients", std::move(recipients)}}));
}

}  // namespace

bool has_target_users(const json& input) {
  auto it = input.find("target_user_ids");
  return it != input.end() && it->is_array() && !it->empty();
}

void send_to_recipients(const engine::ActivityRequest& r, const std::string& channel,
                        const std::string& body, MessageGateway& gateway, RecipientGate& gate,
                        ActivityDone done) {
  SendJob job{r.workflow_id, r.step_id, channel, body, r.input.value("campaign_name", ""),
              r.traceparent, r.timeout, r.attempt, {}};
  for (const json& id : r.input["target_user_ids"])
    if (id.is_string()) job.users.push_back(id.get<std::string>());
  std::make_shared<RecipientSends>(std::move(job), gateway, gate, std::move(done))->pump();
}

json kept_recipients(const json& forward_output) {
  json kept = json::array();
  for (const json& r : forward_output.value("recipients", json::array()))
    if (r.value("status", "") == "sent") kept.push_back(r.value("user_id", ""));
  const std::size_t n = kept.size();
  return {{"channel", forward_output.value("channel", "")},
          {"users_kept", n},
          {"kept", std::move(kept)},
          {"released", 0},
          {"note", "messages sent to users cannot be recalled: they stay sent and keep "
                   "counting toward the users' caps"}};
}

}  // namespace orch::phases
