#include "tests/support/server_process.h"

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "adapters/blocking_http.h"
#include "api/child_process.h"

namespace orch::testing {

namespace {

constexpr std::chrono::seconds kStartTimeout{60};

// A "Key:   123 kB" line of /proc/PID/status, in bytes (-1: absent).
long long status_bytes(pid_t pid, const std::string& key) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1)) * 1024;
  return -1;
}

}  // namespace

std::string orchestrator_binary() { return ORCH_ORCHESTRATOR_BINARY; }

ServerProcess::ServerProcess(std::vector<std::string> args, const std::filesystem::path& log,
                             const std::string& ready_path) {
  const std::string listen = "127.0.0.1:" + std::to_string(api::free_loopback_port());
  base_url_ = "http://" + listen;
  std::vector<std::string> argv = {orchestrator_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--listen", listen});
  pid_ = api::spawn_child(orchestrator_binary(), argv, log, /*die_with_parent=*/false);
  http::BlockingHttp client;
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    auto r = client.call(base_url_, "GET", ready_path, "", {}, std::chrono::milliseconds(1000));
    if (r.ok() && r.response.status == 200) {
      ready_ = true;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

long long ServerProcess::rss_bytes() const { return status_bytes(pid_, "VmRSS"); }
long long ServerProcess::peak_rss_bytes() const { return status_bytes(pid_, "VmHWM"); }

}  // namespace orch::testing
