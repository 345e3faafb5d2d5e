// `orchestrator bench --broadcast N`: broadcasts end to end. Starts the
// sandbox (`orchestrator sandbox`, --latency MS per call) and the
// orchestrator (`orchestrator serve`, fresh SQLite store, fsync on) as child
// processes, imports N customers over the REST API (batches of 10,000), then
// sends K broadcasts of N/K customers each at once (each to a segment by
// location) and follows them until every message is settled. Reports
// messages per second end to end (first send accepted to last broadcast
// settled), the orchestrator's peak RSS during the send, the latency of a
// stats query (GET /v1/broadcasts/{id}, median and p99 of 50) once settled,
// and checks that every message was sent once: the stats say N sent and the
// sandbox's ledger holds N effects with no repeat.
//
//   orchestrator bench --broadcast N [--broadcasts K] [--latency MS]
//                      [--concurrency C] [--keep]
//
// --concurrency: the server's broadcast_concurrency (messages of one
// broadcast in flight; default 512 / K, at least 32), with the messaging
// service's bulkhead set to twice the whole in flight.
#pragma once

namespace orch::api {

struct BroadcastBenchOptions {
  int customers = 100'000;
  int broadcasts = 1;
  int latency_ms = 0;
  int concurrency = 512;
  bool keep = false;
};

int run_broadcast_bench(const BroadcastBenchOptions& options);

}  // namespace orch::api
