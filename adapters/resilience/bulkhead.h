// A concurrency limit per service (Envoy's max_requests / resilience4j's
// SemaphoreBulkhead without waiting): try_enter() never blocks. Lock-free.
#pragma once

#include <atomic>
#include <cstdint>

namespace orch::resilience {

class Bulkhead {
 public:
  // max_concurrent <= 0 means unlimited.
  explicit Bulkhead(int max_concurrent = 64);
  Bulkhead(const Bulkhead&) = delete;
  Bulkhead& operator=(const Bulkhead&) = delete;

  // Takes a slot if fewer than max() are in flight; counts a rejection if not.
  bool try_enter();
  // Gives back a slot taken by try_enter(). Extra calls are ignored (never below 0).
  void leave();

  int in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  int max() const { return max_.load(std::memory_order_relaxed); }
  // Changes the limit at runtime; slots already taken stay taken.
  void set_max(int max_concurrent) { max_.store(max_concurrent, std::memory_order_relaxed); }
  std::uint64_t rejected_total() const { return rejected_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int> max_;
  std::atomic<int> in_flight_{0};
  std::atomic<std::uint64_t> rejected_{0};
};

// RAII slot: holds one slot of a Bulkhead from a successful acquisition until
// destruction, release() or being moved from (like Envoy's ResourceLimit guard).
class BulkheadPermit {
 public:
  BulkheadPermit() = default;
  // Tries to take a slot; check held().
  explicit BulkheadPermit(Bulkhead& bulkhead);
  ~BulkheadPermit();
  BulkheadPermit(BulkheadPermit&& other) noexcept;
  BulkheadPermit& operator=(BulkheadPermit&& other) noexcept;
  BulkheadPermit(const BulkheadPermit&) = delete;
  BulkheadPermit& operator=(const BulkheadPermit&) = delete;

  // A held permit, or an empty one when the bulkhead is full.
  static BulkheadPermit try_acquire(Bulkhead& bulkhead) { return BulkheadPermit(bulkhead); }

  bool held() const { return bulkhead_ != nullptr; }
  explicit operator bool() const { return held(); }
  // Leaves the bulkhead now (idempotent).
  void release();

 private:
  Bulkhead* bulkhead_ = nullptr;
};

}  // namespace orch::resilience
