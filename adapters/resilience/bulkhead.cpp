#include "adapters/resilience/bulkhead.h"

#include <utility>

namespace orch::resilience {

Bulkhead::Bulkhead(int max_concurrent) : max_(max_concurrent) {}

bool Bulkhead::try_enter() {
  int current = in_flight_.load(std::memory_order_relaxed);
  for (;;) {
    int limit = max_.load(std::memory_order_relaxed);
    if (limit > 0 && current >= limit) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (in_flight_.compare_exchange_weak(current, current + 1, std::memory_order_acq_rel,
                                         std::memory_order_relaxed)) {
      return true;
    }
  }
}

void Bulkhead::leave() {
  int current = in_flight_.load(std::memory_order_relaxed);
  while (current > 0 &&
         !in_flight_.compare_exchange_weak(current, current - 1, std::memory_order_acq_rel,
                                           std::memory_order_relaxed)) {
  }
}

BulkheadPermit::BulkheadPermit(Bulkhead& bulkhead)
    : bulkhead_(bulkhead.try_enter() ? &bulkhead : nullptr) {}

BulkheadPermit::~BulkheadPermit() { release(); }

BulkheadPermit::BulkheadPermit(BulkheadPermit&& other) noexcept
    : bulkhead_(std::exchange(other.bulkhead_, nullptr)) {}

BulkheadPermit& BulkheadPermit::operator=(BulkheadPermit&& other) noexcept {
  if (this != &other) {
    release();
    bulkhead_ = std::exchange(other.bulkhead_, nullptr);
  }
  return *this;
}

void BulkheadPermit::release() {
  if (auto* b = std::exchange(bulkhead_, nullptr)) b->leave();
}

}  // namespace orch::resilience
