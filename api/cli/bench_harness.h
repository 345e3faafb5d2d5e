// One run of `orchestrator bench` (api/cli/bench.h): its options, and the
// harness that starts the sandbox and the orchestrator as child processes,
// drives the campaigns through them and reports.
//   bench_harness.cpp  set-up, the main run, the child processes
//   bench_modes.cpp    injected failures and poison, parked campaigns
//   bench_report.cpp   the table and the JSON line, and whether it was correct
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "adapters/http/blocking_http.h"
#include "adapters/http/http_client.h"
#include "api/cli/bench_driver.h"
#include "api/cli/bench_processes.h"

namespace orch::api::bench {

// The journal's counters in the orchestrator's /metrics, read before and
// after a run.
struct JournalFigures {
  double records = 0;
  double commits = 0;  // one fsync each
  double appends = 0;  // group-commit batch sizes summed
  double commit_seconds = 0;  // time in group commits, summed
};

struct BenchOptions {
  int workflows = 1000;
  int concurrency = 50;
  int parked = 0;
  double fail_rate = 0.0;
  // The share of campaigns, chosen by workflow id, whose email SendGrid
  // refuses with a 500 on every attempt (their input is bad, SendGrid is
  // fine for everybody else): they must fail and compensate, the others
  // complete, whatever the breaker makes of it.
  double poison_rate = 0.0;
  int deadline_seconds = 0;  // > 0: campaigns not ended by then are errors
  int latency_ms = 0;
  bool park_only = false;  // --parked without approving them afterwards
  bool outbound_io_thread = false;  // the server's outbound HTTP on its own thread
  // The sandbox over HTTPS with a certificate from a CA made for the run;
  // the orchestrator trusts that CA (ca_file) and verifies every call.
  bool tls = false;
  bool keep = false;
};

class Bench {
 public:
  explicit Bench(BenchOptions o) : o_(o) {}
  ~Bench();

  // The whole benchmark; the process's exit code (0: the side effects were
  // as expected).
  int run();

 private:
  // What report() prints and writes as JSON, worked out once.
  struct Figures {
    double seconds = 0;
    int n = 0;  // the campaigns of the main run, at least 1
    double records = 0;
    double commits = 0;
    double appends = 0;
    long long side_effects = 0;
    long long duplicates = 0;
    long long compensations = 0;
    long long completed = 0;
    long long failed = 0;
    long long still_parked = 0;
    long long expected = 0;
    int errors = 0;
    bool correct = false;
  };

  // --- set-up and the child processes (bench_harness.cpp) -------------------

  // A CA for this run and the sandbox's certificate from it, in dir_.
  std::string make_certificates();
  int fail(const std::string& why);
  void write_config();
  void start_orchestrator();
  bool wait_ready(const std::string& url, const std::string& path, pid_t& child);
  std::string get(const std::string& url, const std::string& path);

  // --- the modes (bench_modes.cpp) ------------------------------------------

  bool inject_failures();
  bool inject_poison();
  // Parks M campaigns at review, measures memory, restarts the orchestrator
  // (SIGTERM, then a new process on the same store), times its recovery to
  // ready, then approves every parked campaign and follows it to its end.
  std::string run_parked(const ProcessSample& empty, nlohmann::json* out, Driver::Result* resumed);

  // --- the report (bench_report.cpp) ----------------------------------------

  int report(const Driver::Result& r, const Driver::Result& resumed, const ProcessSample& empty,
             const ProcessSample& before, const ProcessSample& after, const JournalFigures& j0,
             const JournalFigures& j1, const nlohmann::json& ledger, nlohmann::json parked);
  Figures figures(const Driver::Result& r, const Driver::Result& resumed, const JournalFigures& j0,
                  const JournalFigures& j1, const nlohmann::json& ledger) const;
  nlohmann::json result_json(const Figures& f, const Driver::Result& r, const ProcessSample& empty,
                             const ProcessSample& before, const ProcessSample& after,
                             const JournalFigures& j0, const JournalFigures& j1,
                             const ProcessSample& last) const;
  void print_table(const Figures& f, const Driver::Result& r, const nlohmann::json& result,
                   const ProcessSample& empty, const ProcessSample& before,
                   const ProcessSample& after, const ProcessSample& last) const;

  BenchOptions o_;
  std::string exe_;
  std::filesystem::path dir_;
  std::string sandbox_url_;
  // --tls: the run's CA (and no proxy); null otherwise.
  std::shared_ptr<const http::ConnectionSettings> trust_;
  std::string api_url_;
  double sandbox_cpu_ = 0;
  double client_cpu_ = 0;
  pid_t sandbox_ = -1;
  pid_t orchestrator_ = -1;
  std::unique_ptr<http::BlockingHttp> http_;
};

}  // namespace orch::api::bench
