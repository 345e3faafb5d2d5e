// Durable fan-out: a map over a stream of items with a concurrency limit,
// whose per-item state lives in the store (fan_out_store.h), so a fan-out of
// a million items holds only its in-flight items in memory, never writes
// them all in one transaction, and picks up where it stopped after a crash.
//
// A fan-out is its items: add_items() appends them (in chunks, idempotently:
// an item whose key the fan-out has is left alone), run() works through
// every item in status "pending" in ordinal order, at most `concurrency` at
// a time, calling the kind's ItemWork for each attempt. An attempt's outcome
// is written back in batches (one transaction per batch, on the journal's
// writer thread):
//  - done: the item takes the status the work names ("sent", "skipped");
//  - retryable: the item stays pending, its attempts and error recorded, and
//    is tried again after the retry policy's backoff (with full jitter),
//    until its attempts are exhausted: then "failed";
//  - permanent: "failed" at once;
//  - deferred: not attempted (the service's breaker is open, its bulkhead
//    full): tried again after retry_after without spending an attempt.
// run() ends once no item is pending and every outcome is durable.
//
// At-least-once: an attempt whose outcome was not yet written when the
// process died is made again after a restart, so the work must be
// idempotent per item (a broadcast keys each send and asks the user's actor
// whether it was already sent). The engine knows nothing of what an item is.
//
// REQUIRES: every method is called on the io_context's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/journal/fan_out_store.h"
#include "engine/journal/journal.h"
#include "engine/time/clock.h"
#include "engine/time/timer_service.h"
#include "engine/workflow/workflow_definition.h"

namespace boost::asio {
class io_context;
}
namespace orch::observability {
class Metrics;
}

namespace orch::engine {

inline constexpr const char* kItemPending = "pending";
inline constexpr const char* kItemFailed = "failed";

struct FanOutPolicy {
  std::string kind = "fan_out";  // the metrics' label (e.g. "broadcast")
  std::size_t concurrency = 64;  // items in flight at most
  // Attempts per item (max_attempts, 0 = unlimited) and the backoff between
  // them; retries are drawn with full jitter.
  RetryPolicy retry{3, milliseconds{1'000}, 2.0, milliseconds{30'000}, true};
  std::size_t read_ahead = 512;    // pending items read from the store at a time
  std::size_t write_batch = 512;   // outcomes written per transaction at most
  milliseconds write_after{5};     // an outcome waits at most this long to be written
};

struct ItemOutcome {
  enum class Kind { done, retryable, permanent, deferred };
  Kind kind = Kind::done;
  std::string status;  // done: the item's new status (not "pending")
  std::string error;   // retryable, permanent: why; done: a reason worth keeping, if any
  std::string detail;  // the item's new detail (JSON object text); "" keeps it
  milliseconds retry_after{0};  // retryable: at least this long before the next attempt

  static ItemOutcome finished(std::string status, std::string detail = {},
                              std::string reason = {}) {
    return {Kind::done, std::move(status), std::move(reason), std::move(detail), {}};
  }
  static ItemOutcome defer(std::string why, milliseconds after) {
    return {Kind::deferred, {}, std::move(why), {}, after};
  }
  static ItemOutcome retry(std::string error, milliseconds after = {}, std::string detail = {}) {
    return {Kind::retryable, {}, std::move(error), std::move(detail), after};
  }
  static ItemOutcome fail(std::string error, std::string detail = {}) {
    return {Kind::permanent, kItemFailed, std::move(error), std::move(detail), {}};
  }
};

// One attempt (number `attempt`, from 1) on `item`; must call `done` exactly
// once, on the io_context's thread.
using ItemWork = std::function<void(const FanOutItem& item, int attempt,
                                    std::function<void(ItemOutcome)> done)>;

struct FanOutProgress {
  std::map<std::string, std::uint64_t> counts;  // durable counts by status
  std::size_t in_flight = 0;                    // attempts under way (counted as pending)
};

class FanOutRunner {
 public:
  using Done = std::function<void(const Status&)>;

  // `metrics` may be null.
  FanOutRunner(boost::asio::io_context& io, Journal& journal, Clock& clock,
               observability::Metrics* metrics = nullptr);
  ~FanOutRunner();
  FanOutRunner(const FanOutRunner&) = delete;
  FanOutRunner& operator=(const FanOutRunner&) = delete;

  // Appends `items` to their fan-outs (status "pending" unless set, times
  // now) in one transaction; `done` once durable. *added: how many were new.
  void add_items(std::vector<FanOutItem> items, std::function<void(const Status&, std::size_t)> done);
  // Moves every item of `fan_out` in status `from` back to pending with its
  // attempts reset (an operator's resend), in transactions of write_batch.
  void requeue(const std::string& fan_out, const std::string& from,
               std::function<void(const Status&, std::size_t)> done);
  // Works through `fan_out`'s pending items (see the file comment). A run()
  // of a fan-out already running joins it: `done` is called when it ends,
  // and items added since it read its last page are taken too.
  void run(const std::string& fan_out, const FanOutPolicy& policy, ItemWork work, Done done);
  // Makes a running fan-out read its pending items from the start again
  // (skipping those it holds), so items moved back to pending behind its
  // cursor (a replay, a requeue) are taken by this run.
  void rewind(const std::string& fan_out);

  FanOutProgress progress(const std::string& fan_out);

 private:
  struct Run;
  void pump(Run& run);
  void read_more(Run& run);
  void start_attempt(Run& run, FanOutItem item);
  void settle(Run& run, FanOutItem item, int attempt, ItemOutcome outcome);
  void queue_write(Run& run, FanOutUpdate update);
  void write(Run& run);
  void maybe_finish(Run& run);
  void on_timer(const std::string& key);

  boost::asio::io_context& io_;
  Journal& journal_;
  Clock& clock_;
  observability::Metrics* metrics_;
  std::map<std::string, std::unique_ptr<Run>, std::less<>> runs_;
  TimerService timers_;
  std::uint64_t jitter_state_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace orch::engine
