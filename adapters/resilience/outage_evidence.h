// Tells a service-wide outage from a request the service refuses on its own
// merits (a "poison" input), by what the service answered its other recent
// callers. A step's failed call is then either the step's own, and uses one
// of its attempts, or the outage's, and the step waits for the service
// without using one (README "Riding out outages", ServiceGuard::finish).
//
// The rule, for a counted failure (5xx, timeout, connection error) of caller
// C: look at the latest answer of every OTHER caller seen within `horizon`,
// leaving out the callers whose latest failure was judged their own while
// the service answered others (they say nothing about the service: when the
// only traffic left is a few bad requests, they must not pass for an outage
// to each other).
//  - at least `failure_rate_threshold` of them failed too: an outage;
//  - otherwise, if one of them was answered: the service keeps answering
//    others, the failure is C's own;
//  - none at all: a lone caller, which cannot tell; its failure counts as
//    its own (it uses an attempt), but as evidence for the next caller.
// A caller is a step's idempotency key, so a step's retries are one caller
// and ten retries of one bad request weigh as much as one.
//
// Thread-safe. Costs a scan of at most `callers` entries per call.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include "engine/time/clock.h"

namespace orch::resilience {

struct OutageEvidenceConfig {
  double failure_rate_threshold = 0.5;  // the breaker's, by default
  std::chrono::milliseconds horizon{10'000};
  int callers = 64;  // the most recent distinct callers remembered
};

enum class FailureVerdict {
  outage,  // others fail too
  own,     // the service answers others
  lone,    // no other caller to compare with
};

class OutageEvidence {
 public:
  OutageEvidence(OutageEvidenceConfig config, const engine::Clock& clock);
  OutageEvidence(const OutageEvidence&) = delete;
  OutageEvidence& operator=(const OutageEvidence&) = delete;

  // Judges a counted failure of `caller` by the rule above.
  FailureVerdict judge(std::uint64_t caller) const;

  // Remembers the latest answer to `caller`: a success (or an answer that
  // counts as none), or a failure, `own` when it was judged the caller's own
  // while the service answered others (FailureVerdict::own).
  void record(std::uint64_t caller, bool failed, bool own = false);

 private:
  struct Answer {
    std::uint64_t caller = 0;
    engine::TimeMs at_ms = 0;
    bool failed = false;
    bool own = false;
  };

  const OutageEvidenceConfig config_;
  const engine::Clock& clock_;
  mutable std::mutex mu_;
  std::vector<Answer> answers_;  // GUARDED_BY(mu_); one per caller
};

}  // namespace orch::resilience
