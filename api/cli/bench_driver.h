// The benchmark's client: campaigns driven over the REST API like a real
// client's, over keep-alive connections, each started, approved at review
// and followed to its end (or parked at review, or resumed from there).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "adapters/http/http_client.h"

namespace orch::api::bench {

enum class DriveMode {
  to_end,   // start, approve at review, follow to the end
  park,     // start and stop at review (the id is kept)
  resume,   // approve an already parked campaign and follow it to the end
};

// Drives campaigns over the REST API from one io_context thread. Every
// campaign is a lane's chain of asynchronous calls; at most `concurrency`
// lanes run at once.
class Driver {
 public:
  using Clock = std::chrono::steady_clock;

  struct Result {
    int completed = 0;
    int failed = 0;     // ended failed (expected with --fail-rate)
    int cancelled = 0;
    int parked = 0;
    int errors = 0;     // transport errors or unexpected answers
    int mismatched = 0; // poisoned and completed, or healthy and failed
    int unfinished = 0; // not ended by the deadline
    std::vector<double> latencies_ms;
    std::vector<std::string> parked_ids;
    double seconds = 0;
  };

  Driver(std::string base, DriveMode mode, int total, int concurrency, std::string tag,
         std::vector<std::string> ids = {});

  // Campaign i gets the workflow id poisoned_id(tag, i) (so a fault can name
  // it), and those `poisoned` picks must fail while the others complete.
  void choose(double poison_rate) { poison_rate_ = poison_rate; }
  static bool poisoned(int i, double rate) {
    return rate > 0 && static_cast<long long>((i + 1) * rate) > static_cast<long long>(i * rate);
  }
  static std::string campaign_id(const std::string& tag, int i) {
    return "bench-" + tag + "-" + std::to_string(i);
  }
  void stop_after(std::chrono::seconds deadline) { deadline_ = deadline; }

  Result run();

 private:
  struct Lane {
    std::string id;
    Clock::time_point started;
    bool poisoned = false;
  };
  using LanePtr = std::shared_ptr<Lane>;
  using Then = std::function<void(int status, nlohmann::json body)>;

  void next();
  void wait_for_review(const LanePtr& lane);
  void approve(const LanePtr& lane);
  void wait_for_end(const LanePtr& lane);
  static bool ended(const std::string& s) {
    return s == "completed" || s == "failed" || s == "cancelled" || s == "paused";
  }
  void finish(const LanePtr& lane, const std::string& status);
  void error(const LanePtr&);
  void send(const char* method, std::string target, std::string body,
            const std::string& idempotency_key, Then then);

  const std::string base_;
  const DriveMode mode_;
  const int total_;
  const int concurrency_;
  const std::string tag_;
  const std::vector<std::string> ids_;
  boost::asio::io_context io_{1};
  http::HttpClient client_;
  double poison_rate_ = 0;
  std::chrono::seconds deadline_{0};
  int next_ = 0;
  int ended_ = 0;
  Result result_;
};

}  // namespace orch::api::bench
