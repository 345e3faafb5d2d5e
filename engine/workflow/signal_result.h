// How the engine answers a command to a workflow (a signal, a cancel, a
// pause, a redrive), and how a gate's rules refuse a decision.
#pragma once

#include <string>

namespace orch::engine {

// `unavailable`: the workflow waits on disk and its journal could not be read
// back (an I/O error); nothing was journaled. `damaged`: its journal fails
// its checks and it is quarantined (WorkflowEngine::damage).
// `key_reused`: the idempotency key was first used for a different request.
enum class SignalCode {
  accepted,
  duplicate,
  key_reused,
  damaged,
  too_large,
  not_found,
  unknown_signal,
  conflict,
  forbidden,
  invalid,
  unavailable
};
struct SignalResult {
  SignalCode code = SignalCode::accepted;
  std::string detail;
};

}  // namespace orch::engine
