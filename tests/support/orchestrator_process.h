// An `orchestrator serve` child process on 127.0.0.1 (a free port, its own
// store and config in a temporary directory), for tests that must watch the
// server from outside: its memory (VmRSS), its answers under abuse, with a
// file-descriptor limit of its own. Authentication is on (one token,
// kToken); the sandbox runs in-process.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {

class OrchestratorProcess {
 public:
  static constexpr const char* kToken = "abuse-test-token";

  // Starts the binary with the default test config, `overrides` merged over
  // it (config file keys), and RLIMIT_NOFILE set to `fd_limit` when it is
  // not 0; waits until GET /health answers 200. started() says whether it
  // did (the log is in log_text()).
  explicit OrchestratorProcess(const nlohmann::json& overrides = nlohmann::json::object(),
                               unsigned fd_limit = 0);
  // SIGTERM, then SIGKILL if it has not exited within a deadline.
  ~OrchestratorProcess();
  OrchestratorProcess(const OrchestratorProcess&) = delete;
  OrchestratorProcess& operator=(const OrchestratorProcess&) = delete;

  bool started() const { return started_; }
  pid_t pid() const { return pid_; }
  std::uint16_t port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // VmRSS of the child, and its peak since it started (VmHWM), in bytes.
  std::size_t resident() const;
  std::size_t peak_resident() const;
  // Starts peak_resident over from now; false if the kernel refused.
  bool reset_peak_resident() const;
  // Whether the child is still running (it has not exited or crashed).
  bool running();
  std::string log_text() const;

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  bool started_ = false;
};

}  // namespace orch::testing
