// The benchmark's set-up and main run: a directory for the run, the
// sandbox (over HTTPS with --tls) and the orchestrator started on their own
// ports, the campaigns driven, samples taken around them.
#include "api/cli/bench_harness.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include "adapters/sandbox/throwaway_ca.h"
#include "api/cli/child_process.h"

namespace orch::api::bench {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::seconds kStartupTimeout{60};
constexpr const char* kServices[] = {"notion", "tool_service", "memory_gateway", "slm",
                                     "figma",  "github",       "github_pages",   "slack",
                                     "sendgrid", "buffer",     "grafana",        "messaging",
                                     "rewards"};

// For profiling: ORCH_BENCH_WRAP_SERVE="/usr/bin/valgrind --tool=callgrind"
// runs the orchestrator under that command (words split on spaces, the first
// an absolute path), so its instructions can be counted under the real load;
// ORCH_BENCH_WRAP_SANDBOX does the same for the sandbox. /proc/self/exe
// cannot be used then: inside a wrapper it names the wrapper.
pid_t spawn_wrapped(const char* wrap_variable, const std::vector<std::string>& argv,
                    const fs::path& log) {
  const char* wrap = std::getenv(wrap_variable);
  if (!wrap || !*wrap) return spawn(argv, log);
  std::vector<std::string> full;
  std::string word;
  for (const char* c = wrap;; ++c) {
    if (*c == ' ' || *c == '\0') {
      if (!word.empty()) full.push_back(std::move(word));
      word.clear();
      if (!*c) break;
    } else {
      word += *c;
    }
  }
  full.insert(full.end(), argv.begin(), argv.end());
  return spawn_child(full.front(), full, log, /*die_with_parent=*/true);
}

JournalFigures journal_figures(const std::string& metrics_text) {
  return {metric(metrics_text, "journal_records_total"),
          metric(metrics_text, "journal_append_seconds_count"),
          metric(metrics_text, "journal_group_commit_batch_size_sum"),
          metric(metrics_text, "journal_append_seconds_sum")};
}

}  // namespace

Bench::~Bench() {
  stop_process(orchestrator_);
  stop_process(sandbox_);
  if (!o_.keep && !dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

int Bench::run() {
  exe_ = self_exe();
  if (exe_.empty()) return fail("cannot find this executable (/proc/self/exe)");
  dir_ = fs::temp_directory_path() / ("orchestrator-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir_);
  const std::string sandbox_listen = "127.0.0.1:" + std::to_string(free_loopback_port());
  sandbox_url_ = (o_.tls ? "https://" : "http://") + sandbox_listen;
  api_url_ = "http://127.0.0.1:" + std::to_string(free_loopback_port());
  std::vector<std::string> sandbox_args = {
      exe_, "sandbox", "--listen", sandbox_listen, "--latency", std::to_string(o_.latency_ms)};
  if (o_.tls) {
    if (std::string e = make_certificates(); !e.empty()) return fail(e);
    sandbox_args.insert(sandbox_args.end(), {"--tls-cert", (dir_ / "sandbox.crt").string(),
                                             "--tls-key", (dir_ / "sandbox.key").string()});
  }
  http_ = std::make_unique<http::BlockingHttp>(trust_ ? trust_ : http::direct_connection());
  write_config();
  sandbox_ = spawn_wrapped("ORCH_BENCH_WRAP_SANDBOX", sandbox_args, dir_ / "sandbox.log");
  if (!wait_ready(sandbox_url_, "/health", sandbox_)) return fail("the sandbox did not start");
  if (o_.fail_rate > 0 && !inject_failures()) return fail("cannot inject the failures");
  if (o_.poison_rate > 0 && !inject_poison()) return fail("cannot inject the poison");
  start_orchestrator();
  if (!wait_ready(api_url_, "/ready", orchestrator_))
    return fail("the orchestrator did not start");
  const ProcessSample empty = sample_process(orchestrator_);

  // The main run: N campaigns, each to its end.
  const JournalFigures journal0 = journal_figures(get(api_url_, "/metrics"));
  const ProcessSample sandbox_before = sample_process(sandbox_);
  const ProcessSample client_before = sample_process(::getpid());
  const ProcessSample before = sample_process(orchestrator_);
  Driver::Result main;
  if (o_.workflows > 0) {
    Driver driver(api_url_, DriveMode::to_end, o_.workflows, o_.concurrency, "run");
    driver.choose(o_.poison_rate);
    driver.stop_after(std::chrono::seconds(o_.deadline_seconds));
    main = driver.run();
  }
  const ProcessSample after = sample_process(orchestrator_);
  sandbox_cpu_ = sample_process(sandbox_).cpu_seconds - sandbox_before.cpu_seconds;
  client_cpu_ = sample_process(::getpid()).cpu_seconds - client_before.cpu_seconds;
  const JournalFigures journal1 = journal_figures(get(api_url_, "/metrics"));

  json parked_report = nullptr;
  Driver::Result resumed;
  if (o_.parked > 0) {
    if (std::string e = run_parked(empty, &parked_report, &resumed); !e.empty()) return fail(e);
  }

  const json ledger = json::parse(get(sandbox_url_, "/sandbox/ledger"), nullptr, false);
  return report(main, resumed, empty, before, after, journal0, journal1, ledger,
                std::move(parked_report));
}

std::string Bench::make_certificates() {
  try {
    const sandbox::ThrowawayCa ca("orchestrator bench CA");
    if (std::string e = ca.write_certificate(dir_ / "ca.crt"); !e.empty()) return e;
    if (std::string e = ca.issue_server().write(dir_, "sandbox"); !e.empty()) return e;
  } catch (const std::exception& e) {
    return e.what();
  }
  auto trust = std::make_shared<http::ConnectionSettings>(*http::direct_connection());
  trust->ca_file = (dir_ / "ca.crt").string();
  trust_ = std::move(trust);
  return "";
}

int Bench::fail(const std::string& why) {
  std::fprintf(stderr, "bench: %s (logs in %s)\n", why.c_str(), dir_.c_str());
  o_.keep = true;
  return 1;
}

void Bench::write_config() {
  json services = json::object();
  for (const char* s : kServices) {
    // Unbounded in-flight calls: with --latency and a large C, the default
    // bulkhead (64 per service) would make steps wait for it, not for the
    // service.
    // The sandbox is on this machine: never through a proxy.
    json settings = {{"max_concurrent", "1000000"}, {"proxy", ""}};
    if (trust_) settings["ca_file"] = trust_->ca_file;
    services[s] = {{"url", sandbox_url_},
                   {"token", std::string("bench-") + s + "-token"},
                   {"settings", std::move(settings)}};
  }
  // A throwaway server on loopback, like the demo's: no API tokens.
  json config = {{"services", services},
                 {"auth", {{"enabled", false}}},
                 {"log_level", "warn"},
                 {"retry_initial_interval_ms", 50},
                 {"outbound_io_thread", o_.outbound_io_thread}};
  std::ofstream(dir_ / "config.json") << config.dump(2);
}

void Bench::start_orchestrator() {
  orchestrator_ = spawn_wrapped("ORCH_BENCH_WRAP_SERVE",
                                {exe_, "serve", "--no-auth", "--listen", api_url_.substr(7),
                                 "--store", "sqlite:" + (dir_ / "orchestrator.db").string(),
                                 "--config", (dir_ / "config.json").string()},
                                dir_ / "orchestrator.log");
}

bool Bench::wait_ready(const std::string& url, const std::string& path, pid_t& child) {
  const auto deadline = Clock::now() + kStartupTimeout;
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(child, &status, WNOHANG) == child) {
      std::fprintf(stderr, "bench: process %d ended (%s %d) before it was ready\n", child,
                   WIFSIGNALED(status) ? "signal" : "exit code",
                   WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
      child = -1;  // reaped
      return false;
    }
    auto r = http_->call(url, "GET", path, "", {}, std::chrono::milliseconds(1000));
    if (r.ok() && r.response.status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

std::string Bench::get(const std::string& url, const std::string& path) {
  auto r = http_->call(url, "GET", path, "", {}, std::chrono::seconds(60));
  return r.ok() ? r.response.body : std::string();
}

}  // namespace orch::api::bench
