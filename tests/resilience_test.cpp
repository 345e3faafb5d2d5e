// Unit tests of adapters/resilience under a ManualClock: no sleeps, no I/O.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/resilience/bulkhead.h"
#include "adapters/resilience/circuit_breaker.h"
#include "adapters/resilience/outage_evidence.h"
#include "adapters/resilience/rate_limiter.h"
#include "adapters/resilience/retry_budget.h"
#include "adapters/resilience/retry_schedule.h"
#include "engine/time/clock.h"

namespace orch::resilience {
namespace {

using namespace std::chrono_literals;
using Transition = std::pair<BreakerState, BreakerState>;

BreakerConfig small_config() {
  BreakerConfig c;
  c.window_size = 10;
  c.minimum_calls = 4;
  c.failure_rate_threshold = 0.5;
  c.slow_call_rate_threshold = 1.0;
  c.slow_call_duration = 1000ms;
  c.wait_in_open = 10'000ms;
  c.permitted_calls_in_half_open = 3;
  return c;
}

// Acquires and reports one call.
void call(CircuitBreaker& b, CallOutcome outcome, std::chrono::milliseconds d = 10ms) {
  ASSERT_TRUE(b.try_acquire());
  b.on_result(outcome, d);
}

// Trips a closed breaker with the minimum number of failures.
void trip(CircuitBreaker& b) {
  for (int i = 0; i < b.config().minimum_calls && b.state() == BreakerState::closed; ++i) {
    call(b, CallOutcome::failure);
  }
  ASSERT_EQ(b.state(), BreakerState::open);
}

// ---------------------------------------------------------------- breaker

TEST(CircuitBreaker, NamesAndMetricValues) {
  EXPECT_STREQ(to_string(BreakerState::closed), "closed");
  EXPECT_STREQ(to_string(BreakerState::open), "open");
  EXPECT_STREQ(to_string(BreakerState::half_open), "half_open");
  EXPECT_STREQ(to_string(BreakerState::forced_open), "forced_open");
  EXPECT_STREQ(to_string(BreakerState::disabled), "disabled");
  EXPECT_EQ(metric_value(BreakerState::closed), 0);
  EXPECT_EQ(metric_value(BreakerState::open), 1);
  EXPECT_EQ(metric_value(BreakerState::half_open), 2);
  EXPECT_EQ(metric_value(BreakerState::forced_open), 1);
  EXPECT_EQ(metric_value(BreakerState::disabled), 0);
}

TEST(CircuitBreaker, StaysClosedBelowMinimumCalls) {
  engine::ManualClock clock;
  CircuitBreaker b("svc", small_config(), clock);
  for (int i = 0; i < 3; ++i) call(b, CallOutcome::failure);  // 100 % failures, 3 < 4 calls
  EXPECT_EQ(b.state(), BreakerState::closed);
  auto s = b.snapshot();
  EXPECT_EQ(s.calls, 3);
  EXPECT_EQ(s.failures, 3);
  EXPECT_EQ(s.failure_rate, -1.0);  // not computed yet
  EXPECT_EQ(b.retry_after(), 0ms);
}

TEST(CircuitBreaker, TripsAtExactlyTheFailureThreshold) {
  engine::ManualClock clock;
  CircuitBreaker b("svc", small_config(), clock);
  call(b, CallOutcome::success);
  call(b, CallOutcome::success);
  call(b, CallOutcome::success);
  call(b, CallOutcome::failure);
  EXPECT_EQ(b.state(), BreakerState::closed);  // 1/4 = 25 %
  call(b, CallOutcome::failure);
  EXPECT_EQ(b.state(), BreakerState::closed);  // 2/5 = 40 %
  call(b, CallOutcome::failure);               // 3/6 = 50 % >= 50 %
  EXPECT_EQ(b.state(), BreakerState::open);
  auto s = b.snapshot();
  EXPECT_EQ(s.trips, 1u);
  EXPECT_EQ(s.calls, 6);
  EXPECT_EQ(s.failures, 3);
  EXPECT_DOUBLE_EQ(s.failure_rate, 0.5);
  EXPECT_EQ(s.opened_at_ms, clock.now_ms());
  EXPECT_EQ(s.next_attempt_at_ms, clock.now_ms() + 10'000);
  EXPECT_EQ(s.failures_total, 3u);
}

TEST(CircuitBreaker, SlidingWindowForgetsOldResults) {
  engine::ManualClock clock;
  auto cfg = small_config();
  cfg.window_size = 4;
  cfg.minimum_calls = 4;
  CircuitBreaker b("svc", cfg, clock);
  call(b, CallOutcome::failure);
  for (int i = 0; i < 3; ++i) call(b, CallOutcome::success);  // 1/4
  for (int i = 0; i < 10; ++i) call(b, CallOutcome::success);  // the failure slides out
  EXPECT_EQ(b.snapshot().failures, 0);
  EXPECT_EQ(b.snapshot().calls, 4);
  call(b, CallOutcome::failure);
  EXPECT_EQ(b.state(), BreakerState::closed);  // 1/4
  call(b, CallOutcome::failure);
  EXPECT_EQ(b.state(), BreakerState::open);  // 2/4
}

TEST(CircuitBreaker, OpenRejectsThenHalfOpenAfterWait) {
  engine::ManualClock clock;
  CircuitBreaker b("svc", small_config(), clock);
  trip(b);
  EXPECT_FALSE(b.try_acquire());
  EXPECT_EQ(b.retry_after(), 10'000ms);
  clock.advance(9'999ms);
  EXPECT_FALSE(b.try_acquire());
  EXPECT_EQ(b.retry_after(), 1ms);
  EXPECT_EQ(b.state(), BreakerState::open);
  clock.advance(1ms);
  EXPECT_EQ(b.retry_after(), 0ms);
  EXPECT_TRUE(b.try_acquire());
  EXPECT_EQ(b.state(), BreakerState::half_open);
  EXPECT_EQ(b.snapshot().next_attempt_at_ms, 0);
}

TEST(CircuitBreaker, HalfOpenPermitsOnlyTheProbesAndSuccessesClose) {
  engine::ManualClock clock;
  CircuitBreaker b("svc", small_config(), clock);
  trip(b);
  clock.advance(10'000ms);
  EXPECT_TRUE(b.try_acquire());
  EXPECT_TRUE(b.try_acquire());
  EXPECT_TRUE(b.try_acquire());
  EXPECT_FALSE(b.try_acquire());  // 3 probes out
  EXPECT_EQ(b.retry_after(), 1000ms);  // slow_call_duration
  b.on_result(CallOutcome::success, 10ms);
  b.on_result(CallOutcome::success, 10ms);
  EXPECT_EQ(b.state(), BreakerState::half_open);
  EXPECT_FALSE(b.try_acquire());  // results pending evaluation still hold their slots
  EXPECT_EQ(b.snapshot().calls, 2);
  b.on_result(CallOutcome::success, 10ms);
  EXPECT_EQ(b.state(), BreakerState::closed);
  auto s = b.snapshot();
  EXPECT_EQ(s.calls, 0);  // the window was cleared
  EXPECT_EQ(s.failures, 0);
  EXPECT_EQ(s.trips, 1u);
  // Clean window: it takes minimum_calls results again to trip.
  for (int i = 0; i < 3; ++i) call(b, CallOutcome::failure);
  EXPECT_EQ(b.state(), BreakerState::closed);
}

TEST(CircuitBreaker, HalfOpenFailureReopensWithMultipliedWaitAndCap) {
  engine::ManualClock clock;
  auto cfg = small_config();
  cfg.permitted_calls_in_half_open = 1;
  cfg.open_wait_multiplier = 2.0;
  cfg.max_wait_in_open = 35'000ms;
  CircuitBreaker b("svc", cfg, clock);
  trip(b);
  EXPECT_EQ(b.retry_after(), 10'000ms);
  std::vector<std::int64_t> waits;
  for (int round = 0; round < 4; ++round) {
    clock.advance(b.retry_after());
    ASSERT_TRUE(b.try_acquire());
    ASSERT_EQ(b.state(), BreakerState::half_open);
    b.on_result(CallOutcome::failure, 10ms);
    ASSERT_EQ(b.state(), BreakerState::open);
    waits.push_back(b.retry_after().count());
  }
  EXPECT_EQ(waits, (std::vector<std::int64_t>{20'000, 35'000, 35'000, 35'000}));
  EXPECT_EQ(b.snapshot().trips, 5u);
  // A successful probe closes and resets the wait to the base.
  clock.advance(b.retry_after());
  call(b, CallOutcome::success);
  EXPECT_EQ(b.state(), BreakerState::closed);
  trip(b);
  EXPECT_EQ(b.retry_after(), 10'000ms);
}

TEST(CircuitBreaker, HalfOpenEvaluatesAllProbesAndReopensEarlyWhenDecided) {
  engine::ManualClock clock;
  auto cfg = small_config();
  cfg.permitted_calls_in_half_open = 4;
  CircuitBreaker b("svc", cfg, clock);
  // One failure of four probes (25 %) still closes it.
  trip(b);
  clock.advance(10'000ms);
  call(b, CallOutcome::failure);
  call(b, CallOutcome::success);
  EXPECT_EQ(b.state(), BreakerState::half_open);
  call(b, CallOutcome::success);
  call(b, CallOutcome::success);
  EXPECT_EQ(b.state(), BreakerState::closed);
  // Two failures reach 2/4 = 50 % whatever the other two probes do: re-open at once.
  trip(b);
  clock.advance(10'000ms);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(b.try_acquire());
  b.on_result(CallOutcome::failure, 10ms);
  EXPECT_EQ(b.state(), BreakerState::half_open);
  b.on_result(CallOutcome::failure, 10ms);
  EXPECT_EQ(b.state(), BreakerState::open);
  // Late results of the other probes do not count in the open state.
  b.on_result(CallOutcome::success, 10ms);
  b.on_result(CallOutcome::success, 10ms);
  EXPECT_EQ(b.state(), BreakerState::open);
}

TEST(CircuitBreaker, SlowCallsTripIt) {
  engine::ManualClock clock;
  CircuitBreaker b("svc", small_config(), clock);  // slow threshold 1.0: all calls slow
  call(b, CallOutcome::success, 1000ms);
  call(b, CallOutcome::success, 5000ms);
  call(b, CallOutcome::success, 999ms);  // not slow
  call(b, CallOutcome::success, 1000ms);
  EXPECT_EQ(b.state(), BreakerState::closed);  // 3/4 slow < 100 %
  EXPECT_DOUBLE_EQ(b.snapshot().slow_rate, 0.75);

  CircuitBreaker all("svc", small_config(), clock);
  for (int i = 0; i < 3; ++i) call(all, CallOutcome::success, 2000ms);
  EXPECT_EQ(all.state(), BreakerState::closed);
  call(all, CallOutcome::success, 1000ms);  // 4/4 slow
  EXPECT_EQ(all.state(), BreakerState::open);
  auto s = all.snapshot();
  EXPECT_EQ(s.slow_calls, 4);
  EXPECT_EQ(s.failures, 0);
  EXPECT_DOUBLE_EQ(s.slow_rate, 1.0);

  auto cfg = small_config();
  cfg.slow_call_rate_threshold = 0.5;
  CircuitBreaker half("svc", cfg, clock);
  call(half, CallOutcome::success, 10ms);
  call(half, CallOutcome::success, 10ms);
  call(half, CallOutcome::success, 3000ms);
  call(half, CallOutcome::failure, 3000ms);  // 2/4 slow, 1/4 failed
  EXPECT_EQ(half.state(), BreakerState::open);
}

TEST(CircuitBreaker, SlowProbesReopen) {
  engine::ManualClock clock;
  auto cfg = small_config();
  cfg.slow_call_rate_threshold = 0.5;
  cfg.permitted_calls_in_half_open = 2;
  CircuitBreaker b("svc", cfg, clock);
  trip(b);
  clock.advance(10'000ms);
  call(b, CallOutcome::success, 4000ms);  // 1/2 slow already decides it
  EXPECT_EQ(b.state(), BreakerState::open);
}

TEST(CircuitBreaker, ForcedOpenAndDisabled) {
  engine::ManualClock clock;
  CircuitBreaker b("svc", small_config(), clock);
  b.force(BreakerState::forced_open);
  EXPECT_EQ(b.state(), BreakerState::forced_open);
  EXPECT_FALSE(b.try_acquire());
  clock.advance(1h);
  EXPECT_FALSE(b.try_acquire());  // no automatic half-open
  EXPECT_EQ(b.retry_after(), 10'000ms);
  EXPECT_EQ(b.snapshot().opened_at_ms, clock.now_ms() - 3'600'000);

  b.force(BreakerState::disabled);
  EXPECT_EQ(b.state(), BreakerState::disabled);
  for (int i = 0; i < 50; ++i) call(b, CallOutcome::failure, 10s);
  EXPECT_EQ(b.state(), BreakerState::disabled);  // never trips
  EXPECT_EQ(b.retry_after(), 0ms);
  EXPECT_EQ(b.snapshot().calls, 0);  // records nothing...
  EXPECT_EQ(b.snapshot().failures_total, 50u);  // ...but the total

  b.force(BreakerState::closed);
  EXPECT_EQ(b.state(), BreakerState::closed);
  EXPECT_EQ(b.snapshot().calls, 0);
  trip(b);
  b.force(BreakerState::closed);  // operator reset from open
  EXPECT_TRUE(b.try_acquire());
  b.release();
  EXPECT_EQ(b.snapshot().calls, 0);

  b.force(BreakerState::open);
  EXPECT_EQ(b.state(), BreakerState::open);
  EXPECT_FALSE(b.try_acquire());
  b.force(BreakerState::half_open);
  EXPECT_TRUE(b.try_acquire());
}

TEST(CircuitBreaker, ReleaseFreesHalfOpenSlots) {
  engine::ManualClock clock;
  auto cfg = small_config();
  cfg.permitted_calls_in_half_open = 2;
  CircuitBreaker b("svc", cfg, clock);
  trip(b);
  clock.advance(10'000ms);
  EXPECT_TRUE(b.try_acquire());
  EXPECT_TRUE(b.try_acquire());
  EXPECT_FALSE(b.try_acquire());
  b.release();
  EXPECT_TRUE(b.try_acquire());
  EXPECT_FALSE(b.try_acquire());
  b.release();
  b.release();
  b.release();  // extra releases never create slots
  EXPECT_TRUE(b.try_acquire());
  EXPECT_TRUE(b.try_acquire());
  EXPECT_FALSE(b.try_acquire());
  b.on_result(CallOutcome::success, 10ms);
  b.on_result(CallOutcome::success, 10ms);
  EXPECT_EQ(b.state(), BreakerState::closed);
}

TEST(CircuitBreaker, IgnoredOutcomesDoNotCount) {
  engine::ManualClock clock;
  CircuitBreaker b("svc", small_config(), clock);
  for (int i = 0; i < 20; ++i) call(b, CallOutcome::ignored, 10s);
  EXPECT_EQ(b.state(), BreakerState::closed);
  EXPECT_EQ(b.snapshot().calls, 0);
  EXPECT_EQ(b.snapshot().slow_calls, 0);
  // In half-open an ignored result frees its slot and decides nothing.
  auto cfg = small_config();
  cfg.permitted_calls_in_half_open = 1;
  CircuitBreaker h("svc", cfg, clock);
  trip(h);
  clock.advance(10'000ms);
  EXPECT_TRUE(h.try_acquire());
  EXPECT_FALSE(h.try_acquire());
  h.on_result(CallOutcome::ignored, 10ms);
  EXPECT_EQ(h.state(), BreakerState::half_open);
  call(h, CallOutcome::success);
  EXPECT_EQ(h.state(), BreakerState::closed);
}

TEST(CircuitBreaker, SnapshotFigures) {
  engine::ManualClock clock;
  auto cfg = small_config();
  cfg.failure_rate_threshold = 0.9;
  CircuitBreaker b("payments", cfg, clock);
  EXPECT_EQ(b.service(), "payments");
  call(b, CallOutcome::failure, 10ms);
  call(b, CallOutcome::success, 2000ms);
  call(b, CallOutcome::failure, 3000ms);
  call(b, CallOutcome::success, 10ms);
  call(b, CallOutcome::success, 10ms);
  auto s = b.snapshot();
  EXPECT_EQ(s.state, BreakerState::closed);
  EXPECT_EQ(s.calls, 5);
  EXPECT_EQ(s.failures, 2);
  EXPECT_EQ(s.slow_calls, 2);
  EXPECT_DOUBLE_EQ(s.failure_rate, 0.4);
  EXPECT_DOUBLE_EQ(s.slow_rate, 0.4);
  EXPECT_EQ(s.trips, 0u);
  EXPECT_EQ(s.opened_at_ms, 0);
  EXPECT_EQ(s.next_attempt_at_ms, 0);
  EXPECT_EQ(s.failures_total, 2u);
}

TEST(CircuitBreaker, ListenerSeesEveryTransitionInOrder) {
  engine::ManualClock clock;
  auto cfg = small_config();
  cfg.permitted_calls_in_half_open = 1;
  CircuitBreaker b("svc", cfg, clock);
  std::vector<Transition> seen;
  b.set_listener([&](BreakerState from, BreakerState to) {
    seen.emplace_back(from, to);
    (void)b.snapshot();  // calling back into the breaker must not deadlock
  });
  trip(b);
  clock.advance(10'000ms);
  call(b, CallOutcome::failure);  // half_open -> open
  clock.advance(b.retry_after());
  call(b, CallOutcome::success);  // half_open -> closed
  b.force(BreakerState::forced_open);
  b.force(BreakerState::disabled);
  b.force(BreakerState::closed);
  b.force(BreakerState::closed);  // no change, no event
  using S = BreakerState;
  std::vector<Transition> want = {
      {S::closed, S::open},      {S::open, S::half_open},     {S::half_open, S::open},
      {S::open, S::half_open},   {S::half_open, S::closed},   {S::closed, S::forced_open},
      {S::forced_open, S::disabled}, {S::disabled, S::closed}};
  EXPECT_EQ(seen, want);
}

TEST(CircuitBreaker, ReentrantListenerKeepsOrder) {
  engine::ManualClock clock;
  CircuitBreaker b("svc", small_config(), clock);
  std::vector<Transition> seen;
  b.set_listener([&](BreakerState from, BreakerState to) {
    seen.emplace_back(from, to);
    if (to == BreakerState::open) b.force(BreakerState::forced_open);  // re-entrant
  });
  for (int i = 0; i < 4; ++i) call(b, CallOutcome::failure);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], Transition(BreakerState::closed, BreakerState::open));
  EXPECT_EQ(seen[1], Transition(BreakerState::open, BreakerState::forced_open));
  EXPECT_EQ(b.state(), BreakerState::forced_open);
}

TEST(CircuitBreaker, ConcurrentCallersKeepCountsConsistent) {
  engine::ManualClock clock;
  auto cfg = small_config();
  cfg.window_size = 1000;
  cfg.failure_rate_threshold = 2.0;  // never trips
  CircuitBreaker b("svc", cfg, clock);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&b, t] {
      for (int i = 0; i < 500; ++i) {
        if (!b.try_acquire()) continue;
        b.on_result((i + t) % 2 ? CallOutcome::failure : CallOutcome::success, 1ms);
        (void)b.snapshot();
      }
    });
  }
  for (auto& th : threads) th.join();
  auto s = b.snapshot();
  EXPECT_EQ(s.calls, 1000);
  EXPECT_EQ(s.failures_total, 1000u);
}

// A caller's repeated failures are one failure in the window: one request
// that fails on every attempt cannot trip the breaker for everybody.
TEST(CircuitBreaker, ACallersRepeatedFailuresCountOnce) {
  engine::ManualClock clock;
  CircuitBreaker b("svc", small_config(), clock);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(b.acquire(100 + i).granted);
    b.on_result(CallOutcome::success, 10ms, 100 + i);
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(b.acquire(7).granted);
    b.on_result(CallOutcome::failure, 10ms, 7);
  }
  EXPECT_EQ(b.state(), BreakerState::closed);
  EXPECT_EQ(b.snapshot().calls, 4);
  EXPECT_EQ(b.snapshot().failures, 1);
  EXPECT_EQ(b.snapshot().failures_total, 20u);
  // Distinct failing callers do trip it: 3 failures of 6 results.
  for (int caller = 8; caller < 10; ++caller) {
    ASSERT_TRUE(b.acquire(caller).granted);
    b.on_result(CallOutcome::failure, 10ms, caller);
  }
  EXPECT_EQ(b.state(), BreakerState::open);
  // Anonymous calls keep the plain count (tests above).
}

TEST(CircuitBreaker, HalfOpenGivesACallerOneProbePerRound) {
  engine::ManualClock clock;
  CircuitBreaker b("svc", small_config(), clock);
  trip(b);
  clock.advance(10'001ms);
  const CircuitBreaker::Permit first = b.acquire(7);
  EXPECT_TRUE(first.granted);
  EXPECT_TRUE(first.probe);
  EXPECT_FALSE(b.acquire(7).granted);  // its second probe of the round
  b.on_result(CallOutcome::failure, 10ms, 7);
  EXPECT_FALSE(b.acquire(7).granted);  // still this round
  EXPECT_TRUE(b.acquire(8).granted);
  b.release(8);                         // unused: 8 may take it again
  EXPECT_TRUE(b.acquire(8).granted);
  EXPECT_TRUE(b.acquire(9).granted);
  b.on_result(CallOutcome::success, 10ms, 8);
  b.on_result(CallOutcome::success, 10ms, 9);
  EXPECT_EQ(b.state(), BreakerState::closed);  // 2 of 3 probes succeeded
  EXPECT_FALSE(b.acquire(7).probe);
}

// ----------------------------------------------------------- outage evidence

TEST(OutageEvidence, ALoneCallerCannotTell) {
  engine::ManualClock clock;
  OutageEvidence e({}, clock);
  EXPECT_EQ(e.judge(1), FailureVerdict::lone);
  e.record(1, true);
  EXPECT_EQ(e.judge(1), FailureVerdict::lone);  // only its own failures
}

TEST(OutageEvidence, OthersFailingTooIsAnOutage) {
  engine::ManualClock clock;
  OutageEvidence e({}, clock);
  e.record(2, true);  // a lone caller's failure is evidence for the next
  EXPECT_EQ(e.judge(1), FailureVerdict::outage);
  e.record(3, false);  // one of two others failed: at the 50 % threshold
  EXPECT_EQ(e.judge(1), FailureVerdict::outage);
  e.record(4, false);  // one of three: the service answers others
  EXPECT_EQ(e.judge(1), FailureVerdict::own);
}

TEST(OutageEvidence, TheLatestAnswerPerCallerWithinTheHorizonCounts) {
  engine::ManualClock clock;
  OutageEvidence e({0.5, 10'000ms, 4}, clock);
  for (std::uint64_t caller = 2; caller < 6; ++caller) e.record(caller, true);
  EXPECT_EQ(e.judge(1), FailureVerdict::outage);
  for (std::uint64_t caller = 2; caller < 6; ++caller) e.record(caller, false);  // recovered
  EXPECT_EQ(e.judge(1), FailureVerdict::own);
  e.record(6, true);  // evicts the caller answered longest ago: 1 of 4 failed
  EXPECT_EQ(e.judge(1), FailureVerdict::own);
  clock.advance(10'001ms);  // all too old: no evidence
  EXPECT_EQ(e.judge(1), FailureVerdict::lone);
  e.record(7, true);
  EXPECT_EQ(e.judge(1), FailureVerdict::outage);
}

// Callers whose failures were judged their own (the service answered
// others) say nothing about the service: a few bad requests left alone are
// not an outage to each other.
TEST(OutageEvidence, FailuresJudgedTheirOwnAreNoEvidence) {
  engine::ManualClock clock;
  OutageEvidence e({}, clock);
  e.record(2, false);
  e.record(3, true, /*own=*/true);
  e.record(4, true, /*own=*/true);
  EXPECT_EQ(e.judge(1), FailureVerdict::own);  // only 2 counts, and it was answered
  e.record(5, true);  // an outage's failure, or a lone caller's
  EXPECT_EQ(e.judge(1), FailureVerdict::outage);  // 1 of 2 others
}

// --------------------------------------------------------------- bulkhead

TEST(Bulkhead, RejectsBeyondTheLimit) {
  Bulkhead b;  // 64
  EXPECT_EQ(b.max(), 64);
  for (int i = 0; i < 64; ++i) ASSERT_TRUE(b.try_enter()) << i;
  EXPECT_EQ(b.in_flight(), 64);
  EXPECT_FALSE(b.try_enter());
  EXPECT_EQ(b.rejected_total(), 1u);
  b.leave();
  EXPECT_EQ(b.in_flight(), 63);
  EXPECT_TRUE(b.try_enter());
  EXPECT_FALSE(b.try_enter());
  for (int i = 0; i < 100; ++i) b.leave();
  EXPECT_EQ(b.in_flight(), 0);  // never negative

  // Concurrent enter/leave never exceeds the limit and ends at zero.
  Bulkhead shared(8);
  std::atomic<int> peak{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        BulkheadPermit p(shared);
        if (!p) continue;
        int now = shared.in_flight();
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(peak.load(), 8);
  EXPECT_EQ(shared.in_flight(), 0);

  Bulkhead unlimited(0);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(unlimited.try_enter());
}

TEST(Bulkhead, PermitIsRaiiAndMovable) {
  Bulkhead b(2);
  {
    BulkheadPermit p1(b);
    auto p2 = BulkheadPermit::try_acquire(b);
    BulkheadPermit p3(b);
    EXPECT_TRUE(p1.held());
    EXPECT_TRUE(p2);
    EXPECT_FALSE(p3);
    EXPECT_EQ(b.in_flight(), 2);

    BulkheadPermit moved(std::move(p1));
    EXPECT_TRUE(moved.held());
    EXPECT_FALSE(p1.held());  // NOLINT(bugprone-use-after-move): moved-from is empty
    EXPECT_EQ(b.in_flight(), 2);

    p3 = std::move(moved);  // p3 (empty) takes the slot
    EXPECT_TRUE(p3.held());
    EXPECT_EQ(b.in_flight(), 2);
    p2.release();
    p2.release();
    EXPECT_EQ(b.in_flight(), 1);
    BulkheadPermit p4(b);
    p3 = std::move(p4);  // p3's old slot is released, p4's is taken over
    EXPECT_EQ(b.in_flight(), 1);
  }
  EXPECT_EQ(b.in_flight(), 0);
}

// ----------------------------------------------------------- token bucket

TEST(TokenBucket, BurstThenRate) {
  engine::ManualClock clock;
  TokenBucket t(10.0, 5.0, clock);  // 10/s, burst 5
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(t.try_take()) << i;
  EXPECT_FALSE(t.try_take());
  EXPECT_EQ(t.time_until_available(), 100ms);
  clock.advance(40ms);
  EXPECT_EQ(t.time_until_available(), 60ms);
  EXPECT_FALSE(t.try_take());
  clock.advance(60ms);
  EXPECT_EQ(t.time_until_available(), 0ms);
  EXPECT_TRUE(t.try_take());
  EXPECT_FALSE(t.try_take());
  // One second refills 10 tokens, but the bucket holds only the burst.
  clock.advance(10s);
  EXPECT_DOUBLE_EQ(t.available(), 5.0);
  int taken = 0;
  while (t.try_take()) ++taken;
  EXPECT_EQ(taken, 5);
  // Over a long run the rate holds: 1 s -> 10 tokens.
  int in_second = 0;
  for (int ms = 0; ms < 1000; ++ms) {
    clock.advance(1ms);
    while (t.try_take()) ++in_second;
  }
  EXPECT_EQ(in_second, 10);
  EXPECT_GT(t.rejected_total(), 0u);
}

TEST(TokenBucket, FractionalRateAndUnlimited) {
  engine::ManualClock clock;
  TokenBucket slow(0.5, 1.0, clock);  // one token per 2 s
  EXPECT_TRUE(slow.try_take());
  EXPECT_EQ(slow.time_until_available(), 2000ms);
  clock.advance(1999ms);
  EXPECT_FALSE(slow.try_take());
  EXPECT_EQ(slow.time_until_available(), 1ms);
  clock.advance(1ms);
  EXPECT_TRUE(slow.try_take());

  TokenBucket unlimited(0.0, 1.0, clock);
  EXPECT_TRUE(unlimited.unlimited());
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(unlimited.try_take());
  EXPECT_EQ(unlimited.time_until_available(), 0ms);
  TokenBucket negative(-3.0, 1.0, clock);
  EXPECT_TRUE(negative.unlimited());
}

// ----------------------------------------------------------- retry budget

TEST(RetryBudget, RatioOfCallsInWindow) {
  engine::ManualClock clock;
  RetryBudget budget(0.2, 10'000ms, 3, clock);
  for (int i = 0; i < 100; ++i) budget.on_call();
  int allowed = 0;
  for (int i = 0; i < 50; ++i) allowed += budget.try_retry() ? 1 : 0;
  EXPECT_EQ(allowed, 20);
  EXPECT_EQ(budget.retries_denied_total(), 30u);
  EXPECT_EQ(budget.retries_allowed_total(), 20u);
  auto s = budget.snapshot();
  EXPECT_EQ(s.calls_in_window, 100);
  EXPECT_EQ(s.retries_in_window, 20);
  EXPECT_DOUBLE_EQ(s.allowance, 20.0);
  // More calls make room for more retries.
  for (int i = 0; i < 5; ++i) budget.on_call();
  EXPECT_TRUE(budget.try_retry());
  EXPECT_FALSE(budget.try_retry());
}

TEST(RetryBudget, WindowSlidesWithTheClock) {
  engine::ManualClock clock;
  RetryBudget budget(0.2, 10'000ms, 3, clock);
  for (int i = 0; i < 100; ++i) budget.on_call();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(budget.try_retry());
  EXPECT_FALSE(budget.try_retry());
  // Half a window later: the same events still count.
  clock.advance(5'000ms);
  for (int i = 0; i < 50; ++i) budget.on_call();
  EXPECT_EQ(budget.snapshot().calls_in_window, 150);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(budget.try_retry()) << i;  // 30 of 150
  EXPECT_FALSE(budget.try_retry());
  // A full window after the first burst it has slid out; the second remains.
  clock.advance(5'000ms);
  auto s = budget.snapshot();
  EXPECT_EQ(s.calls_in_window, 50);
  EXPECT_EQ(s.retries_in_window, 10);
  EXPECT_FALSE(budget.try_retry());  // 10 retries vs allowance 10
  // Everything slides out: only the floor is left.
  clock.advance(10'000ms);
  s = budget.snapshot();
  EXPECT_EQ(s.calls_in_window, 0);
  EXPECT_EQ(s.retries_in_window, 0);
  EXPECT_TRUE(budget.try_retry());
}

TEST(RetryBudget, MinimumFloor) {
  engine::ManualClock clock;
  RetryBudget budget(clock);  // 0.2, 10 s, floor 3
  EXPECT_DOUBLE_EQ(budget.ratio(), 0.2);
  EXPECT_EQ(budget.window(), 10'000ms);
  EXPECT_EQ(budget.min_retries_per_window(), 3);
  budget.on_call();  // 0.2 * 1 < 3
  EXPECT_TRUE(budget.try_retry());
  EXPECT_TRUE(budget.try_retry());
  EXPECT_TRUE(budget.try_retry());
  EXPECT_FALSE(budget.try_retry());
  EXPECT_EQ(budget.retries_denied_total(), 1u);
  clock.advance(10'000ms);
  EXPECT_TRUE(budget.try_retry());

  RetryBudget none(0.0, 1000ms, 0, clock);
  for (int i = 0; i < 100; ++i) none.on_call();
  EXPECT_FALSE(none.try_retry());
}

// --------------------------------------------------------- retry schedule

TEST(RetrySchedule, JitterStaysWithinTheCap) {
  RetryPolicy p;
  p.initial_interval = 100ms;
  p.backoff_coefficient = 2.0;
  p.maximum_interval = 5000ms;
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int attempt = 1; attempt <= 10; ++attempt) {
    const auto cap = backoff_cap(p, attempt);
    std::int64_t lo = cap.count(), hi = 0;
    double sum = 0;
    for (int i = 0; i < 10'000; ++i) {
      auto d = next_delay(p, attempt, unit(rng), 0ms);
      ASSERT_GE(d.count(), 0);
      ASSERT_LE(d, cap);
      lo = std::min<std::int64_t>(lo, d.count());
      hi = std::max<std::int64_t>(hi, d.count());
      sum += static_cast<double>(d.count());
    }
    // The draws spread over the whole range (mean near cap/2).
    EXPECT_LE(lo, cap.count() / 20) << attempt;
    EXPECT_GE(hi, cap.count() * 19 / 20) << attempt;
    EXPECT_NEAR(sum / 10'000, static_cast<double>(cap.count()) / 2, cap.count() * 0.03);
  }
}

TEST(RetrySchedule, CapGrowsToTheMaximum) {
  RetryPolicy p;
  p.initial_interval = 100ms;
  p.backoff_coefficient = 2.0;
  p.maximum_interval = 5000ms;
  EXPECT_EQ(backoff_cap(p, 1), 100ms);
  EXPECT_EQ(backoff_cap(p, 2), 200ms);
  EXPECT_EQ(backoff_cap(p, 3), 400ms);
  EXPECT_EQ(backoff_cap(p, 6), 3200ms);
  EXPECT_EQ(backoff_cap(p, 7), 5000ms);
  EXPECT_EQ(backoff_cap(p, 10'000), 5000ms);  // no overflow
  EXPECT_EQ(backoff_cap(p, 0), 100ms);        // attempt < 1 acts as 1
  EXPECT_EQ(next_delay(p, 1, 1.0, 0ms), 100ms);
  EXPECT_EQ(next_delay(p, 1, 0.0, 0ms), 0ms);
  EXPECT_EQ(next_delay(p, 1, 0.5, 0ms), 50ms);
  EXPECT_EQ(next_delay(p, 3, 7.0, 0ms), 400ms);   // clamped unit_random
  EXPECT_EQ(next_delay(p, 3, -1.0, 0ms), 0ms);
  p.backoff_coefficient = 1.0;
  EXPECT_EQ(backoff_cap(p, 9), 100ms);
}

TEST(RetrySchedule, RetryAfterIsHonoured) {
  RetryPolicy p;
  p.initial_interval = 100ms;
  p.maximum_interval = 1000ms;
  // Retry-After wins over a smaller draw...
  EXPECT_EQ(next_delay(p, 1, 0.5, 3000ms), 3000ms);
  // ...a larger draw wins over Retry-After...
  EXPECT_EQ(next_delay(p, 5, 1.0, 10ms), 1000ms);
  // ...and it is capped at 4 * maximum_interval.
  EXPECT_EQ(next_delay(p, 1, 0.5, 60'000ms), 4000ms);

  const std::int64_t now = 1'445'412'000'000;  // Wed, 21 Oct 2015 07:20:00 GMT
  EXPECT_EQ(parse_retry_after("120", now), 120'000ms);
  EXPECT_EQ(parse_retry_after(" 0 ", now), 0ms);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), 480'000ms);
  EXPECT_EQ(parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", now), 480'000ms);
  EXPECT_EQ(parse_retry_after("Wed Oct 21 07:28:00 2015", now), 480'000ms);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), 0ms);  // past
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784'111'777'000);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), 784'111'777'000);
  EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  EXPECT_EQ(parse_http_date("Tue, 29 Feb 2000 23:59:59 GMT"), 951'868'799'000);
  EXPECT_EQ(parse_retry_after("99999999999999999999", now),
            std::chrono::milliseconds(100LL * 365 * 24 * 3600 * 1000));  // saturates
  for (const char* bad : {"", "  ", "-5", "1.5", "soon", "Wed, 21 Oct 2015 07:28:00",
                          "Wed, 21 Oct 2015 07:28:00 UTC", "Wed, 32 Oct 2015 07:28:00 GMT",
                          "Mon, 29 Feb 2021 00:00:00 GMT", "Wed, 21 Foo 2015 07:28:00 GMT",
                          "Wed, 21 Oct 2015 24:00:00 GMT", "Xyz, 21 Oct 2015 07:28:00 GMT",
                          "Wed, 21 Oct 2015 07:28:00 GMT trailing"}) {
    EXPECT_EQ(parse_retry_after(bad, now), std::nullopt) << bad;
  }
}

TEST(RetrySchedule, RetryableStatusesErrorsAndAttempts) {
  RetryPolicy p;  // maximum_attempts 3
  EXPECT_TRUE(retryable(p, 503, "", 1));
  EXPECT_TRUE(retryable(p, 500, "", 2));
  EXPECT_FALSE(retryable(p, 500, "", 3));  // the third attempt was the last
  EXPECT_TRUE(retryable(p, 429, "", 1));
  EXPECT_TRUE(retryable(p, 408, "", 1));
  EXPECT_TRUE(retryable(p, 0, "timeout", 1));
  EXPECT_FALSE(retryable(p, 400, "", 1));
  EXPECT_FALSE(retryable(p, 404, "", 1));
  p.non_retryable_statuses = {501, 429};
  p.non_retryable_errors = {"invalid_credentials"};
  EXPECT_FALSE(retryable(p, 501, "", 1));
  EXPECT_FALSE(retryable(p, 429, "", 1));
  EXPECT_TRUE(retryable(p, 502, "", 1));
  EXPECT_FALSE(retryable(p, 0, "invalid_credentials", 1));
  EXPECT_TRUE(retryable(p, 0, "connect", 1));
  p.maximum_attempts = 0;  // unlimited
  EXPECT_TRUE(retryable(p, 503, "", 1'000'000));
  p.maximum_attempts = 1;  // no retries at all
  EXPECT_FALSE(retryable(p, 503, "", 1));
}

}  // namespace
}  // namespace orch::resilience
