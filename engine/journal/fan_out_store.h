// The per-item state of durable fan-outs (engine/fanout/): one row per item
// of a fan-out (a broadcast's message to one customer), with its status,
// attempts, last error and the kind's detail, and per-status counts kept in
// the same transaction so a fan-out's statistics are one small read however
// many items it has.
//
// Writes run on the journal's writer thread (Journal::run_on_writer), each
// call one durable transaction. Reads may run on another thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "engine/time/clock.h"

namespace orch::engine {

struct FanOutItem {
  std::string fan_out;       // the fan-out's id
  std::string key;           // unique within the fan-out (a customer id)
  std::int64_t ordinal = 0;  // position in the stream, from 1: the order items run and list in
  std::string status;        // "pending" when added; then what the kind's work says
  int attempts = 0;          // attempts made in the current round
  std::string detail;        // JSON object text the kind keeps (a rendered message)
  std::string error;         // the last attempt's error ("" = none)
  TimeMs created_ms = 0;
  TimeMs updated_ms = 0;
};

// A change of one item. `from_status` is its status before (the counts move
// from it to `item.status`); an update whose row is no longer in
// `from_status` is skipped, so a stale update never moves an item back.
struct FanOutUpdate {
  FanOutItem item;
  std::string from_status;
};

struct FanOutItemQuery {
  std::string fan_out;
  std::string status;            // "" = any
  std::int64_t after_ordinal = 0;
  std::size_t limit = 100;
};

class FanOutStore {
 public:
  virtual ~FanOutStore() = default;

  // Adds items (status, ordinal and times as given) in ONE transaction; an
  // item whose key the fan-out already has is left as it is. *added, if
  // given, counts the new ones; (*which)[i], if given, says whether items[i]
  // was new. REQUIRES: the writer thread.
  virtual Status add_fan_out_items(const std::vector<FanOutItem>& items, std::size_t* added,
                                   std::vector<bool>* which = nullptr) = 0;
  // Applies updates in ONE transaction (see FanOutUpdate). *applied, if
  // given, counts those applied. REQUIRES: the writer thread.
  virtual Status update_fan_out_items(const std::vector<FanOutUpdate>& updates,
                                      std::size_t* applied) = 0;

  // Items in ordinal order (see FanOutItemQuery).
  virtual Status fan_out_items(const FanOutItemQuery& query, std::vector<FanOutItem>* out) = 0;
  virtual Status fan_out_item(const std::string& fan_out, const std::string& key, FanOutItem* out,
                              bool* found) = 0;
  // Items by status; an empty map for an unknown fan-out.
  virtual Status fan_out_counts(const std::string& fan_out,
                                std::map<std::string, std::uint64_t>* counts) = 0;
  // The highest ordinal the fan-out has (0 = none).
  virtual Status fan_out_last_ordinal(const std::string& fan_out, std::int64_t* ordinal) = 0;
};

}  // namespace orch::engine
