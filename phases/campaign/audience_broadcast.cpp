#include "phases/campaign/audience_broadcast.h"

#include <cstdint>

#include "phases/audience/message_template.h"
#include "phases/broadcast/broadcasts.h"

namespace orch::phases {

using engine::ActivityOutcome;
using engine::ActivityOutcomeKind;
using nlohmann::json;

namespace {

constexpr const char* kGreeting = "Hi {first_name|there}, ";

// Whether byte `c` continues a UTF-8 sequence.
bool continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

std::uint64_t count(const json& stats, const char* status) {
  return stats.value(status, std::uint64_t{0});
}

}  // namespace

bool has_audience(const json& input) {
  auto it = input.find("audience");
  return it != input.end() && it->is_object() && !it->empty();
}

std::string audience_broadcast_id(const std::string& workflow_id, const std::string& channel) {
  return "bc-" + workflow_id + "-" + channel;
}

std::string audience_template(const std::string& content) {
  std::string out = kGreeting;
  for (std::size_t i = 0; i < content.size(); ++i) {
    const char c = content[i];
    const bool brace = c == '{' || c == '}';
    if (out.size() + (brace ? 2 : 1) > audience::kMaxTemplateBytes) {
      // Cut before a character split in two.
      while (!out.empty() && continuation(static_cast<unsigned char>(content[i]))) {
        out.pop_back();
        --i;
      }
      break;
    }
    out.push_back(c);
    if (brace) out.push_back(c);
  }
  return out;
}

void send_to_audience(const engine::ActivityRequest& r, const std::string& channel,
                      const std::string& content, broadcast::Broadcasts* broadcasts,
                      engine::ActivityDone done) {
  if (!broadcasts)
    return done(ActivityOutcome::failure(ActivityOutcomeKind::permanent,
                                         "an audience needs the broadcasts, not wired in here"));
  broadcast::Broadcast b;
  b.id = audience_broadcast_id(r.workflow_id, channel);
  if (!broadcast::valid_broadcast_id(b.id))
    return done(ActivityOutcome::failure(ActivityOutcomeKind::permanent,
                                         "'" + b.id + "' cannot name a broadcast"));
  b.name = r.input.value("campaign_name", "");
  b.channel = channel;
  b.base_template = audience_template(content);
  b.status = "sending";
  b.sends = 1;  // sent once; its failed messages may be resent with messages:retry
  broadcasts->send_now(
      b, r.input["audience"], 0, [id = b.id, channel, done = std::move(done)](ActivityOutcome o) {
        if (o.kind != ActivityOutcomeKind::ok) return done(std::move(o));
        const json& stats = o.output;
        const std::uint64_t sent = count(stats, "sent"), failed = count(stats, "failed");
        if (sent == 0 && failed > 0)
          return done(ActivityOutcome::failure(
              ActivityOutcomeKind::permanent,
              "broadcast " + id + " sent nothing: " + std::to_string(failed) + " " + channel +
                  " messages failed, " + std::to_string(count(stats, "skipped")) +
                  " skipped (GET /v1/broadcasts/" + id + "/messages?status=failed says why)"));
        done(ActivityOutcome::success({{"broadcast_id", id},
                                       {"channel", channel},
                                       {"total", count(stats, "total")},
                                       {"sent", sent},
                                       {"failed", failed},
                                       {"skipped", count(stats, "skipped")}}));
      });
}

json kept_broadcast(const json& forward_output) {
  return {{"channel", forward_output.value("channel", "")},
          {"broadcast_id", forward_output.value("broadcast_id", "")},
          {"messages_kept", forward_output.value("sent", std::uint64_t{0})},
          {"released", 0},
          {"note", "broadcast messages cannot be recalled: they stay sent and keep counting "
                   "toward the customers' caps"}};
}

}  // namespace orch::phases
