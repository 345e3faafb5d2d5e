// The crash harness's broadcast load: customers imported through the REST
// API, some capped at two messages a day and some opted out of SMS in their
// user actors, then several broadcasts sent to all of them at once while
// the orchestrator is SIGKILLed and restarted under them. Every call is
// retried until the server answers (a send with its Idempotency-Key).
//
// verify() then checks each broadcast: one record per customer, every one
// settled (sent, skipped or failed) and the stats equal to the records; the
// sandbox applied exactly the messages recorded as sent, each once (its
// ledger is keyed by "<broadcast>:<customer>"); no opted-out customer got
// an SMS and no capped customer more than its cap across the broadcasts.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace orch::testing {

struct BroadcastLoad {
  int customers = 1'500;
  int broadcasts = 4;
  int capped_every = 10;     // every Nth customer: max 2 messages a day
  int opted_out_every = 25;  // every Nth (not capped): opted out of sms
  int cap = 2;
};

class BroadcastDriver {
 public:
  BroadcastDriver(std::string api_url, std::string sandbox_url, BroadcastLoad load);

  // Imports the customers and sets their actors; false if a call failed.
  bool configure();
  // Creates and sends the broadcasts, then waits until each has settled.
  void run();
  bool verify(nlohmann::json* summary);
  // Whether a broadcast is sending now (best effort, for the kill figures).
  bool sending() const { return sending_.load(); }

 private:
  std::pair<int, nlohmann::json> call(const std::string& method, const std::string& target,
                                      const nlohmann::json& body, const std::string& key = "");
  std::string customer_id(int i) const { return "bcust-" + std::to_string(i); }
  bool capped(int i) const { return i % load_.capped_every == 0; }
  bool opted_out(int i) const { return !capped(i) && i % load_.opted_out_every == 0; }

  const std::string api_url_;
  const std::string sandbox_url_;
  const BroadcastLoad load_;
  std::vector<std::string> ids_;  // the broadcasts
  std::atomic<bool> sending_{false};
  std::atomic<long long> retries_{0};
};

}  // namespace orch::testing
