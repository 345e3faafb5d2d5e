// `orchestrator bench --reservations N --users U`: the user actors under the
// load campaigns put on them. Starts `orchestrator serve` (fresh SQLite
// store, fsync on) as a child process, gives U users a daily cap
// (PUT /v1/users/{id}), then drives N reserve-then-commit pairs over the
// REST API with at most C pairs in flight, spread over the users. Reports
// pairs per second, p50/p99 of a pair, of a reserve and of a commit, the
// server's RSS per resident user, and, once every user has left memory,
// its RSS per known user. With --idle-users M, M more users are created
// first (the million-user case).
//
//   orchestrator bench --reservations N --users U [--concurrency C]
//                      [--idle-users M] [--keep]
#pragma once

#include <string>
#include <vector>

namespace orch::api {

struct ReservationBenchOptions {
  int reservations = 100'000;
  int users = 100'000;
  int concurrency = 200;
  int idle_users = 0;
  bool keep = false;
};

int run_reservation_bench(const ReservationBenchOptions& options);

}  // namespace orch::api
