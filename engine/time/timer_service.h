// Deadlines on the injected Clock. One asio timer for the earliest deadline;
// a ManualClock jump re-checks at once, so tests need no sleeps. Deadlines
// themselves are journaled by the engine; this only wakes it up.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "engine/time/clock.h"

namespace boost::asio {
class io_context;
}

namespace orch::engine {

class TimerService {
 public:
  using Fire = std::function<void(const std::string& key)>;
  // REQUIRES: all calls on the io_context thread.
  TimerService(boost::asio::io_context& io, Clock& clock, Fire fire);
  ~TimerService();

  // Arms (or moves) the single deadline of `key`.
  void arm(const std::string& key, TimeMs deadline);
  void cancel(const std::string& key);
  std::size_t size() const { return by_key_.size(); }

 private:
  void reschedule();
  void fire_due();

  struct Impl;
  std::shared_ptr<Impl> impl_;
  Clock& clock_;
  Fire fire_;
  std::multimap<TimeMs, std::string> by_deadline_;
  std::unordered_map<std::string, std::multimap<TimeMs, std::string>::iterator> by_key_;
};

}  // namespace orch::engine
