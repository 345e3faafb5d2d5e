// The events benchmark's reads of other routes while it loads the server
// (bench_events.h): GETs in turn over a few routes, kPerSecond a second, from
// a thread and a keep-alive connection of their own, each timed and tagged
// with the phase it ran in.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace orch::api::events_bench {

class RouteProbe {
 public:
  static constexpr int kPerSecond = 20;
  enum Phase : int { kLoading = 0, kDraining = 1 };

  struct Sample {
    int phase;
    int route;  // index into targets()
    double ms;
    bool ok;  // a 200
  };

  RouteProbe(std::string base, std::vector<std::string> targets);
  ~RouteProbe();
  RouteProbe(const RouteProbe&) = delete;
  RouteProbe& operator=(const RouteProbe&) = delete;

  void start();
  // Tags the samples taken from now on.
  void set_phase(Phase phase) { phase_ = phase; }
  void stop();

  const std::vector<std::string>& targets() const { return targets_; }
  // REQUIRES: stopped.
  const std::vector<Sample>& samples() const { return samples_; }

 private:
  void run();

  const std::string base_;
  const std::vector<std::string> targets_;
  std::atomic<int> phase_{kLoading};
  std::atomic<bool> stop_{false};
  std::vector<Sample> samples_;  // the probe's thread only, until stopped
  std::thread thread_;
};

}  // namespace orch::api::events_bench
