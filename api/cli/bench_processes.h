// What the benchmarks share: their child processes (the orchestrator and the
// sandbox, started from this same binary), those processes' CPU time and
// memory (their threads' too), a metric read from the Prometheus text, percentiles.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace orch::http {
class BlockingHttp;
}

namespace orch::api {

// Polls GET <url>/health until it answers 200 (true) or a minute has
// passed (false): a child process started and ready for the benchmark.
bool wait_healthy(http::BlockingHttp& http, const std::string& url);

// The path of this binary ("" if /proc cannot say).
std::string self_exe();
// Starts this binary with `argv` (argv[0] included), output to `log`; the
// child dies with the benchmark so nothing is left running.
pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log);
// SIGTERM, then SIGKILL if it does not exit in time. Returns true on a clean exit.
bool stop_process(pid_t pid);

struct ProcessSample {
  double cpu_seconds = 0;        // user + system
  long long rss_bytes = 0;       // VmRSS
  long long peak_rss_bytes = 0;  // VmHWM
};
ProcessSample sample_process(pid_t pid);

// A thread's time so far: on a CPU, and runnable but waiting for one (the
// scheduler's own accounts, /proc/<pid>/task/<tid>/schedstat).
struct ThreadTime {
  int tid = 0;
  double cpu_seconds = 0;
  double runqueue_seconds = 0;
};
// Every thread of `pid`.
std::vector<ThreadTime> thread_times(pid_t pid);
// The machine's 1-minute load average (other work sharing the cores skews
// every figure).
double load_average();

// The value of an unlabelled series in Prometheus text format (0 if absent).
double metric(const std::string& text, const std::string& name);
// The p-quantile (0..1) of `v`, 0 when empty.
double percentile(std::vector<double> v, double p);

}  // namespace orch::api
