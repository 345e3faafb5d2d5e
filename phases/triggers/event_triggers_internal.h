// EventTriggers' state shared by its translation units (event_intake.cpp,
// event_matcher.cpp, trigger_actions.cpp, dead_letters.cpp,
// event_views.cpp). Not for use outside phases/triggers/.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "engine/fanout/fan_out_runner.h"
#include "engine/journal/document_store.h"
#include "engine/journal/journal_store.h"
#include "phases/triggers/event_triggers.h"

namespace orch::phases::triggers {

// One POST /v1/events request's events waiting to be answered.
struct EventRequest {
  std::vector<Delivery> answers;
  std::size_t remaining = 0;
  Status status;
  std::function<void(const Status&, const std::vector<Delivery>&)> done;
};

struct QueuedEvent {
  engine::FanOutItem item;
  std::string digest;
  std::shared_ptr<EventRequest> request;
  std::size_t index = 0;  // the event's place in its request
};

struct EventTriggers::Intake {
  std::int64_t last_ordinal = 0;
  std::vector<QueuedEvent> queued;  // waiting for the next write
  bool writing = false;
  std::chrono::steady_clock::time_point last_write;  // events arriving: see match_after
};

struct EventTriggers::Matcher {
  explicit Matcher(boost::asio::io_context& io) : sweep_timer(io), pace_timer(io) {}
  struct Claim {
    std::string match;
    engine::TimeMs at = 0;
  };
  std::int64_t cursor = 0;  // the highest ordinal matched
  std::int64_t last_action_ordinal = 0;  // of the "trigger_actions" fan-out
  bool busy = false;        // a batch is being matched or written
  bool again = false;       // events arrived while busy
  bool rewind = false;      // events moved back to pending behind the cursor
  std::unordered_map<std::string, Claim> claims;  // "<trigger>|<customer>", read or written
  std::unordered_set<std::string> appeared;       // customers created, their parked events to wake
  // No parked event expires before this (0: unknown, look); the sweep reads
  // the parked index only from then on.
  engine::TimeMs next_expiry = 0;
  boost::asio::steady_timer sweep_timer;
  boost::asio::steady_timer pace_timer;  // the wait between batches while events arrive
  bool pacing = false;
  engine::FanOutPolicy actions;  // the actions' run policy
};

// Writes that change events' state together, in ONE transaction: documents
// put (claims, the parked index, dead letters) and deleted, action items
// added, events' items updated.
struct EventWrites {
  std::vector<engine::Document> documents;
  std::vector<std::pair<std::string, std::string>> deleted;  // (collection, id)
  std::vector<engine::FanOutItem> actions;
  std::vector<engine::FanOutUpdate> events;

  bool empty() const { return documents.empty() && deleted.empty() && actions.empty() && events.empty(); }
  Status apply(engine::JournalStore& store) const;
};

// The ids of a match and of a dead-lettered event.
std::string match_id(std::int64_t event_ordinal, const std::string& trigger_id);
std::string unknown_customer_id(std::int64_t event_ordinal);

// The dead letter document of a failed action item (detail parsed).
engine::Document dead_letter_document(const engine::FanOutItem& item, const nlohmann::json& detail,
                                      const std::string& error_class, engine::TimeMs now);

}  // namespace orch::phases::triggers
