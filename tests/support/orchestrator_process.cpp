#include "tests/support/orchestrator_process.h"

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "adapters/http/blocking_http.h"
#include "api/cli/child_process.h"
#include "engine/common/digest.h"
#include "tests/support/raw_http.h"

#ifndef ORCH_ORCHESTRATOR_BINARY
#error "tests/CMakeLists.txt defines ORCH_ORCHESTRATOR_BINARY (the orchestrator's path)"
#endif

namespace orch::testing {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Start-up of the sanitizer build takes a few seconds on a busy machine.
constexpr auto kStartDeadline = 30s;
constexpr auto kStopDeadline = 10s;
constexpr auto kPollPause = 20ms;

bool reaped(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == pid;
}

}  // namespace

OrchestratorProcess::OrchestratorProcess(const nlohmann::json& overrides, unsigned fd_limit) {
  port_ = static_cast<std::uint16_t>(api::free_loopback_port());
  nlohmann::json config = {{"listen", "127.0.0.1:" + std::to_string(port_)},
                           {"store", "sqlite:" + (dir_.path / "journal.db").string()},
                           {"sandbox", true},
                           {"log_level", "warn"},
                           {"auth",
                            {{"enabled", true},
                             {"tokens",
                              {{{"id", "t1"},
                                {"subject", "tester"},
                                {"role", "admin"},
                                {"sha256", sha256_hex(kToken)}}}}}}};
  config.merge_patch(overrides);
  const auto config_path = dir_.path / "config.json";
  std::ofstream(config_path) << config.dump(2);

  const std::string binary = ORCH_ORCHESTRATOR_BINARY;
  std::vector<std::string> argv;
  std::string program = binary;
  if (fd_limit != 0) {
    program = "/bin/sh";
    argv = {"sh", "-c", "ulimit -n " + std::to_string(fd_limit) + " && exec \"$0\" \"$@\"", binary};
  } else {
    argv = {binary};
  }
  argv.insert(argv.end(), {"serve", "--config", config_path.string()});
  pid_ = api::spawn_child(program, argv, dir_.path / "orchestrator.log",
                          /*die_with_parent=*/true);
  if (pid_ <= 0) return;

  http::BlockingHttp http(http::direct_connection());
  const auto deadline = Clock::now() + kStartDeadline;
  while (Clock::now() < deadline) {
    if (!running()) return;
    auto r = http.call(base_url(), "GET", "/health", "", {}, 500ms);
    if (r.ok() && r.response.status == 200) {
      started_ = true;
      return;
    }
    std::this_thread::sleep_for(kPollPause);  // bounded polling of a real server
  }
}

OrchestratorProcess::~OrchestratorProcess() {
  if (pid_ <= 0 || !running()) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + kStopDeadline;
  while (Clock::now() < deadline) {
    if (reaped(pid_)) return;
    std::this_thread::sleep_for(kPollPause);
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

std::size_t OrchestratorProcess::resident() const { return resident_bytes(pid_); }
std::size_t OrchestratorProcess::peak_resident() const { return peak_resident_bytes(pid_); }
bool OrchestratorProcess::reset_peak_resident() const { return ::orch::testing::reset_peak_resident(pid_); }

bool OrchestratorProcess::running() {
  if (pid_ <= 0) return false;
  if (reaped(pid_)) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string OrchestratorProcess::log_text() const {
  return read_file(dir_.path / "orchestrator.log");
}

}  // namespace orch::testing
