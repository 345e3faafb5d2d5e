// The connection slots of one HttpServer (the shape of Envoy's
// ResourceLimit): at most `max` connections hold a slot, and `reserve` more
// may be lent, one request each, to the probe paths when the server is busy.
// A connection with no request in progress (waiting for the first byte of
// one, or draining after an error answer) is a SlotWaiter: when every slot
// is held, the one that has waited longest gives way to the new connection.
// So idle connections cannot lock the server out, and only connections busy
// with requests can fill it. Internal to the server
// (adapters/http/http_listener.cpp, http_session*.cpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace orch::http::detail {

// A connection that can give its slot away. Intrusive: a server's waiting
// connections form one list without allocation.
class SlotWaiter {
 public:
  // Closes the connection now (it releases its slot as it closes).
  virtual void give_way() = 0;

  // In its server's list of waiting connections.
  bool waiting() const { return waiting_; }

 protected:
  SlotWaiter() = default;
  ~SlotWaiter() = default;
  SlotWaiter(const SlotWaiter&) = delete;
  SlotWaiter& operator=(const SlotWaiter&) = delete;

 private:
  friend class ConnectionSlots;
  SlotWaiter* prev_ = nullptr;
  SlotWaiter* next_ = nullptr;
  bool waiting_ = false;
};

// REQUIRES: admit(), wait() and stop_waiting() on the server's io thread
// (one thread); release() from any thread (a session may die with its
// handler's responder elsewhere).
class ConnectionSlots {
 public:
  enum class Admission {
    normal,   // a slot of its own
    reserve,  // a reserve slot: one request, for a probe path only
    refused,  // none: answer 503 and close
  };

  ConnectionSlots(std::size_t max, std::size_t reserve) : max_(max), reserve_(reserve) {}
  ConnectionSlots(const ConnectionSlots&) = delete;
  ConnectionSlots& operator=(const ConnectionSlots&) = delete;

  // A new connection: a free slot, else the longest waiting connection's
  // (which gives way at once), else a reserve slot, else none. Every
  // admission but `refused` must be paired with one release().
  Admission admit() {
    if (held_.load(std::memory_order_relaxed) < max_) {
      held_.fetch_add(1, std::memory_order_relaxed);
      return Admission::normal;
    }
    if (SlotWaiter* oldest = head_) {
      stop_waiting(oldest);
      oldest->give_way();  // releases its slot
      given_way_.fetch_add(1, std::memory_order_relaxed);
      held_.fetch_add(1, std::memory_order_relaxed);
      return Admission::normal;
    }
    if (held_.load(std::memory_order_relaxed) < max_ + reserve_) {
      held_.fetch_add(1, std::memory_order_relaxed);
      return Admission::reserve;
    }
    refused_.fetch_add(1, std::memory_order_relaxed);
    return Admission::refused;
  }

  void release() { held_.fetch_sub(1, std::memory_order_relaxed); }

  // `w` has no request in progress; it may give way from now on (after those
  // that have waited longer). Idempotent.
  void wait(SlotWaiter* w) {
    if (w->waiting_) return;
    w->waiting_ = true;
    w->prev_ = tail_;
    w->next_ = nullptr;
    (tail_ ? tail_->next_ : head_) = w;
    tail_ = w;
  }

  // `w` has started a request (or is closing). Idempotent.
  void stop_waiting(SlotWaiter* w) {
    if (!w->waiting_) return;
    w->waiting_ = false;
    (w->prev_ ? w->prev_->next_ : head_) = w->next_;
    (w->next_ ? w->next_->prev_ : tail_) = w->prev_;
    w->prev_ = w->next_ = nullptr;
  }

  std::size_t max() const { return max_; }
  std::size_t reserve() const { return reserve_; }
  std::size_t held() const { return held_.load(std::memory_order_relaxed); }
  std::uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  std::uint64_t given_way() const { return given_way_.load(std::memory_order_relaxed); }

 private:
  // Constant after construction.
  const std::size_t max_;
  const std::size_t reserve_;

  std::atomic<std::size_t> held_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> given_way_{0};
  SlotWaiter* head_ = nullptr;  // the longest waiting; io thread only
  SlotWaiter* tail_ = nullptr;
};

}  // namespace orch::http::detail
