// Time as the engine sees it. Injected everywhere so tests control it: a
// 72-hour approval wait takes milliseconds under a ManualClock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace orch::engine {

// Milliseconds since the Unix epoch (wall clock; journaled deadlines use it).
using TimeMs = std::int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeMs now_ms() const = 0;
  // Called with no arguments whenever time jumps (ManualClock::advance), so a
  // timer service can re-check its deadlines. Real clocks never call it.
  virtual void on_jump(std::function<void()> listener) { (void)listener; }
};

class SystemClock final : public Clock {
 public:
  TimeMs now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that only moves when told to.
// REQUIRES: advance() is called on the thread that runs the listeners' io
// context, or the listeners must post themselves (TimerService does).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimeMs start = 1'700'000'000'000) : now_(start) {}
  TimeMs now_ms() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void on_jump(std::function<void()> listener) override {
    std::lock_guard lock(mu_);
    listeners_.push_back(std::move(listener));
  }
  void advance(std::chrono::milliseconds by) {
    std::vector<std::function<void()>> listeners;
    {
      std::lock_guard lock(mu_);
      now_ += by.count();
      listeners = listeners_;
    }
    for (auto& l : listeners) l();
  }

 private:
  mutable std::mutex mu_;
  TimeMs now_;  // GUARDED_BY(mu_)
  std::vector<std::function<void()>> listeners_;  // GUARDED_BY(mu_)
};

}  // namespace orch::engine
