// The events benchmark's workload (bench_events.h): its ten triggers, the
// events (each a function of its index), the matches each must get, worked
// out here from the triggers' conditions and not by the engine's matcher, and
// the client that POSTs them in batches over keep-alive connections, as fast
// as the API takes them or paced to a rate.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adapters/http/http_client.h"

namespace orch::api::events_bench {

inline constexpr const char* kSource = "bench";

// One generated event's fields; which apply depends on its type.
struct EventFields {
  const char* type = "";
  std::string subject;
  int amount = 0;             // purchase
  const char* category = "";  // purchase
  const char* plan = "";      // signup
  int step = 0;               // tutorial_done
};

class Workload {
 public:
  explicit Workload(int customers) : customers_(customers) {}

  // The body of POST /v1/triggers for each trigger.
  std::vector<nlohmann::json> triggers() const;
  // Event `index`, the same every run.
  EventFields event(std::int64_t index) const;
  // How many triggers event `index` matches (all re-eligible every time).
  int matches(std::int64_t index) const;
  // The event's id ("<run>-<index>") and its JSON text.
  static std::string event_id(const std::string& run, std::int64_t index);
  std::string event_json(const std::string& run, std::int64_t index) const;
  // {"events": [...]} of events [first, first + count).
  std::string batch_body(const std::string& run, std::int64_t first, int count) const;
  std::string customer_id(std::int64_t i) const { return "cust-" + std::to_string(i); }
  int customers() const { return customers_; }

 private:
  const int customers_;
};

// What a run of POSTs came to.
struct SendTotals {
  std::int64_t accepted = 0;
  std::int64_t duplicates = 0;
  std::int64_t conflicts = 0;
  int errors = 0;  // transport errors or answers other than 202
  std::string first_error;
  double seconds = 0;              // first request sent to last answer
  int late = 0;                    // paced: batches sent after their time (too many in flight)
  std::vector<double> request_ms;  // each POST, sent to 202
};

// POSTs events from one io_context thread over keep-alive connections.
class EventSender {
 public:
  EventSender(std::string base, const Workload& workload, int batch);

  // Events [first, first + count) of `run`, `connections` requests in
  // flight, each connection sending its next batch as its last is answered.
  SendTotals burst(const std::string& run, std::int64_t first, std::int64_t count, int connections);
  // The same, a batch every batch/rate seconds whatever the answers (open
  // loop, at most kMaxInFlight requests at once).
  SendTotals paced(const std::string& run, std::int64_t first, std::int64_t count,
                   double per_second);

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr int kMaxInFlight = 64;

  void post(const std::string& run, std::int64_t first, int count, std::function<void()> then);
  void tally(const http::CallResult& r, double ms);
  SendTotals finish(Clock::time_point t0);

  const std::string base_;
  const Workload& workload_;
  const int batch_;
  boost::asio::io_context io_{1};
  http::HttpClient client_;
  SendTotals totals_;
};

}  // namespace orch::api::events_bench
