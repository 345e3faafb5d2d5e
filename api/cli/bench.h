// `orchestrator bench`: the standard benchmark (README "Performance").
//
// It starts the sandbox (`orchestrator sandbox`) and the orchestrator
// (`orchestrator serve`, on a fresh SQLite store with fsync on) as separate
// processes from this same binary, and drives the REST API like a real client
// over keep-alive connections: N campaigns with at most C in flight, each
// approved through POST /v1/workflows/{id}/signals/approve as soon as it
// reaches review (a long poll on GET /v1/workflows/{id}/progress), each
// followed to its end. It prints a table and one JSON line (CONTRACT.md) and
// exits non-zero when the side effects are not 15 per completed campaign
// (13 per campaign failed in distribution) or any was repeated.
//
//   orchestrator bench --workflows N --concurrency C [--parked M [--park-only]]
//                      [--fail-rate R] [--latency MS] [--tls] [--keep]
//
// --tls: the sandbox speaks HTTPS with a certificate from a CA made for the
// run (adapters/sandbox/throwaway_ca.h); the orchestrator trusts that CA
// through each service's ca_file and verifies every connection, as against
// the real services. The REST API stays plain HTTP.
// --parked M: M more campaigns are left waiting for approval; the report
// gives the RSS per parked campaign, then the orchestrator is restarted
// (SIGTERM, a new process on the same store) and the time to ready is
// reported; unless --park-only, every parked campaign is then approved and
// followed to its end.
#pragma once

#include <string>
#include <vector>

namespace orch::api {
int run_bench(const std::vector<std::string>& args);
}  // namespace orch::api
