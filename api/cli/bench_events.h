// `orchestrator bench --events N`: customer events triggering rewards, end
// to end (phases/triggers/). Starts the sandbox (`orchestrator sandbox`,
// --latency MS per call) and the orchestrator (`orchestrator serve`, fresh
// SQLite store, fsync on) as child processes, imports the customers
// (batches of 10,000) and creates ten reward triggers on purchase, signup
// and tutorial_done (about 1.1 matches per event; bench_event_load.h), then
// measures over keep-alive connections, batches of B events a request:
//  1. accepted/s: N events POSTed by 8 connections as fast as the API takes
//     them, from the first request to the last 202;
//  2. acted/s end to end: from the same first request until every match's
//     credit is paid (the sandbox's count of credits) and the event queue is
//     empty;
//  3. latency at a fixed rate: R events/s for S seconds, paced; for every
//     25th event, acceptance to its credit (accepted_at to the successful
//     attempt's at, both read from GET /v1/events/{id}) p50/p99/max;
//  4. with --backlog M: M events loaded while the rewards service answers
//     after 1 s (a latency fault: the actions all but pause), then the fault
//     removed and the backlog drained; other routes (triggers, a customer,
//     /health, the queue) are read from their own connection at 20 req/s
//     throughout, their p99 while draining reported.
// Prints a table and one JSON line. Exits non-zero only on wrong results:
// a request refused or lost, a credit missing or paid twice (the sandbox's
// count against the matches worked out here from the triggers' conditions),
// a dead letter, a sampled event not processed. Targets missed are reported,
// never fatal.
//
//   orchestrator bench --events N [--customers C] [--batch B] [--rate R]
//                      [--rate-seconds S] [--backlog M] [--concurrency A]
//                      [--latency MS] [--keep]
//
// --concurrency: the server's trigger_action_concurrency (default 48), with
// the rewards service's bulkhead set to twice that.
#pragma once

namespace orch::api {

struct EventBenchOptions {
  int events = 200'000;
  int customers = 100'000;
  int batch = 100;
  int rate = 5'000;       // events/s in the latency run
  int rate_seconds = 10;  // how long it lasts
  int backlog = 0;        // 0: no backlog run
  int action_concurrency = 48;
  int latency_ms = 0;
  bool keep = false;
};

int run_event_bench(const EventBenchOptions& options);

}  // namespace orch::api
