// The orchestrator run as a child process, for tests that watch it from
// outside as an operator would: its memory from /proc, its answers over real
// sockets. The binary is the one the build made (ORCH_ORCHESTRATOR_BINARY).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace orch::testing {

// build/orchestrator, as CMake built it for this test.
std::string orchestrator_binary();

class ServerProcess {
 public:
  // Runs `orchestrator <args> --listen 127.0.0.1:<free port>` with its output
  // in `log`, and waits (at most 60 s) until GET `ready_path` answers 200.
  ServerProcess(std::vector<std::string> args, const std::filesystem::path& log,
                const std::string& ready_path = "/ready");
  ~ServerProcess();  // SIGKILL, then reaped
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool ready() const { return ready_; }
  const std::string& base_url() const { return base_url_; }
  pid_t pid() const { return pid_; }
  // VmRSS and VmHWM (the peak since start) of the process, in bytes.
  long long rss_bytes() const;
  long long peak_rss_bytes() const;

 private:
  pid_t pid_ = -1;
  std::string base_url_;
  bool ready_ = false;
};

}  // namespace orch::testing
