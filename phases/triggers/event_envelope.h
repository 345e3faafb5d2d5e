// One customer event as it arrives at POST /v1/events, checked and put in
// one shape whatever form it came in:
//  - CloudEvents (structured JSON, spec 1.0): "id", "source", "type",
//    "subject" (the customer id), optional "time" (RFC 3339), "data" (an
//    object), "specversion" ("1.0" when given), "datacontenttype"
//    (application/json when given) and the distributed-tracing extension's
//    "traceparent";
//  - the short form of the seed: "event_id", "payload" (an object, the
//    event's data), "event_type" (or "type"), "customer_id" (or
//    "subject"), optional "source" (default "default") and "timestamp" (or
//    "time").
// Two deliveries of an event are the same when their (source, id) are; they
// carry the same payload when their digests (of type, subject, time, data)
// are equal: a delivery with the same id and another payload is a conflict.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/time/clock.h"
#include "phases/campaign/campaign_input.h"  // FieldError

namespace orch::phases::triggers {

inline constexpr const char* kDefaultSource = "default";

struct Event {
  std::string id;
  std::string source;
  std::string type;
  std::string subject;      // the customer id
  std::string time;         // RFC 3339 as sent ("" when not sent)
  nlohmann::json data;      // an object
  std::string data_text;    // `data` as JSON text (read_event sets it)
  std::string traceparent;  // W3C, "" when none (or malformed)
  std::string digest;       // hex SHA-256 of type, subject, time and data

  // The event as stored: its members and digest as JSON text, written
  // directly (intake writes one per event: no tree built and dumped).
  // REQUIRES: data_text is set.
  std::string stored_text() const;
};

// The event of `body`, or nullopt with every problem in *errors (field
// names prefixed with `prefix`, e.g. "events[3]."). `traceparent` is the
// request's header, used when the event carries none.
std::optional<Event> read_event(const nlohmann::json& body, const std::string& prefix,
                                const std::string& traceparent,
                                std::vector<FieldError>* errors);

// The key that deduplicates deliveries: unique per (source, id).
std::string event_key(const std::string& source, const std::string& id);

}  // namespace orch::phases::triggers
