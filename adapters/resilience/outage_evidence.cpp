#include "adapters/resilience/outage_evidence.h"

#include <algorithm>

namespace orch::resilience {

OutageEvidence::OutageEvidence(OutageEvidenceConfig config, const engine::Clock& clock)
    : config_(config), clock_(clock) {
  answers_.reserve(static_cast<std::size_t>(std::max(1, config_.callers)));
}

void OutageEvidence::record(std::uint64_t caller, bool failed, bool own) {
  const engine::TimeMs now = clock_.now_ms();
  std::lock_guard lock(mu_);
  auto it = std::find_if(answers_.begin(), answers_.end(),
                         [&](const Answer& a) { return a.caller == caller; });
  if (it == answers_.end()) {
    if (answers_.size() < static_cast<std::size_t>(std::max(1, config_.callers))) {
      answers_.emplace_back();
      it = answers_.end() - 1;
    } else {  // forget the caller answered longest ago
      it = std::min_element(answers_.begin(), answers_.end(),
                            [](const Answer& a, const Answer& b) { return a.at_ms < b.at_ms; });
    }
  }
  *it = {caller, now, failed, failed && own};
}

FailureVerdict OutageEvidence::judge(std::uint64_t caller) const {
  const engine::TimeMs since = clock_.now_ms() - config_.horizon.count();
  int others = 0, failed = 0;
  std::lock_guard lock(mu_);
  for (const Answer& a : answers_) {
    if (a.caller == caller || a.at_ms < since || a.own) continue;
    ++others;
    failed += a.failed;
  }
  if (others == 0) return FailureVerdict::lone;
  return static_cast<double>(failed) >= config_.failure_rate_threshold * static_cast<double>(others)
             ? FailureVerdict::outage
             : FailureVerdict::own;
}

}  // namespace orch::resilience
