#include "phases/broadcast/broadcast_record.h"

#include <algorithm>
#include <cctype>

#include "engine/time/time_format.h"

namespace orch::phases::broadcast {

using nlohmann::json;

engine::Document Broadcast::document() const {
  engine::Document d;
  d.collection = kBroadcasts;
  d.id = id;
  json body = {{"id", id},       {"name", name},         {"channel", channel},
               {"base_template", base_template},         {"status", status},
               {"sends", sends}, {"send_key", send_key}, {"messages_queued", messages_queued}};
  if (!scheduled_at.empty()) body["scheduled_at"] = scheduled_at;
  d.body = body.dump();
  d.index_a = status;
  d.index_b = channel;
  d.created_ms = created_ms;
  d.updated_ms = updated_ms;
  return d;
}

bool Broadcast::from_document(const engine::Document& d, Broadcast* out) {
  const json body = json::parse(d.body, nullptr, false);
  if (!body.is_object()) return false;
  out->id = d.id;
  out->name = body.value("name", "");
  out->channel = body.value("channel", "");
  out->base_template = body.value("base_template", "");
  out->scheduled_at = body.value("scheduled_at", "");
  out->status = body.value("status", "draft");
  out->sends = body.value("sends", 0);
  out->send_key = body.value("send_key", "");
  out->messages_queued = body.value("messages_queued", std::uint64_t{0});
  out->created_ms = d.created_ms;
  out->updated_ms = d.updated_ms;
  return true;
}

json Broadcast::view(const json& stats) const {
  json v = {{"id", id},
            {"name", name},
            {"channel", channel},
            {"base_template", base_template},
            {"status", status},
            {"sends", sends},
            {"created_at", engine::format_time(created_ms)},
            {"updated_at", engine::format_time(updated_ms)},
            {"stats", stats}};
  if (!scheduled_at.empty()) v["scheduled_at"] = scheduled_at;
  return v;
}

bool valid_broadcast_id(const std::string& id) {
  constexpr std::size_t kMaxId = 200;
  if (id.empty() || id.size() > kMaxId || !std::isalnum(static_cast<unsigned char>(id[0])))
    return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
  });
}

std::string send_workflow_id(const std::string& broadcast_id, int n) {
  return n == 0 ? broadcast_id + ":send" : broadcast_id + ":retry-" + std::to_string(n);
}

std::string settled_status(const std::map<std::string, std::uint64_t>& counts) {
  auto count = [&](const char* s) {
    auto it = counts.find(s);
    return it == counts.end() ? 0 : it->second;
  };
  return count("sent") == 0 && count("failed") > 0 ? "failed" : "sent";
}

}  // namespace orch::phases::broadcast
