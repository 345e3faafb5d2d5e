// A broadcast (the seed's "campaign": one templated message per customer on
// one channel) as a document of the "broadcasts" collection: index_a its
// status, index_b its channel, so lists filter on either by index.
//
// Status, as the seed defines it: draft (created) or scheduled (created with
// scheduled_at) -> sending (a send started) -> sent (every message settled
// and at least one sent) | failed (every message settled, none sent, some
// failed). A retry of the failed messages moves it back to sending.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/journal/document_store.h"

namespace orch::phases::broadcast {

inline constexpr const char* kBroadcasts = "broadcasts";

struct Broadcast {
  std::string id;
  std::string name;
  std::string channel;        // sms | whatsapp | email | push
  std::string base_template;
  std::string scheduled_at;   // RFC 3339, "" = at once
  std::string status = "draft";
  int sends = 0;              // sends started (the first and each retry)
  std::string send_key;       // the Idempotency-Key of the latest send ("" = none)
  std::uint64_t messages_queued = 0;  // what the latest send answered
  engine::TimeMs created_ms = 0;
  engine::TimeMs updated_ms = 0;

  engine::Document document() const;
  static bool from_document(const engine::Document& d, Broadcast* out);
  // The API's view, with `stats` ({total, pending, sending, sent, failed,
  // skipped}) merged in.
  nlohmann::json view(const nlohmann::json& stats) const;
};

// Whether `id` can name a broadcast: 1 to 200 of A-Z a-z 0-9 . _ -, starting
// alphanumeric (it is a path segment, and the prefix of its messages' keys
// "<broadcast>:<customer>", so no ':').
bool valid_broadcast_id(const std::string& id);

// The workflow that sends a broadcast the n-th time (0: the first send,
// then each retry of the failed messages): "<id>:send", "<id>:retry-<n>".
std::string send_workflow_id(const std::string& broadcast_id, int n);

// The broadcast's status once every message is settled (counts by status).
std::string settled_status(const std::map<std::string, std::uint64_t>& counts);

}  // namespace orch::phases::broadcast
