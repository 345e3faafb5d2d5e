#include "phases/campaign/recipient_report.h"

#include <algorithm>

#include "phases/campaign/recipient_sends.h"

namespace orch::phases {

using nlohmann::json;

namespace {
constexpr const char* kMessagingChannels[] = {"sms", "whatsapp", "push", "in_app"};
}  // namespace

json recipient_report(const json& input, const std::map<std::string, json>& outputs) {
  if (!has_target_users(input)) return json::object();
  const json channels = input.value("channels", json::array());
  std::size_t targeted = 0, sent = 0, skipped = 0, failed = 0;
  json recipients = json::array();
  for (const char* channel : kMessagingChannels) {
    if (std::find(channels.begin(), channels.end(), channel) == channels.end()) continue;
    targeted += input["target_user_ids"].size();
    auto it = outputs.find(std::string("distribution.") + channel);
    if (it == outputs.end()) continue;
    const json& out = it->second;
    sent += out.value("users_sent", std::size_t{0});
    skipped += out.value("users_skipped", std::size_t{0});
    failed += out.value("users_failed", std::size_t{0});
    for (const json& r : out.value("recipients", json::array()))
      recipients.push_back({{"user_id", r.value("user_id", "")},
                            {"channel", channel},
                            {"status", r.value("status", "")},
                            {"reason", r.value("reason", "")}});
  }
  return {{"users_targeted", targeted},
          {"users_sent", sent},
          {"users_skipped", skipped},
          {"users_failed", failed},
          {"recipients", std::move(recipients)}};
}

}  // namespace orch::phases
