// The sandbox's control API (GET /health and /sandbox/...: faults, latency,
// opt-outs, credits, the ledger, attempts per key, reset) and the ledger's JSON views, for sandbox.cpp.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/http/http_message.h"
#include "adapters/sandbox/sandbox.h"

namespace orch::sandbox::detail {

// Answers a request whose path starts with /sandbox (or is /health).
http::Response control(Sandbox::State& s, const http::Request& req,
                       const std::vector<std::string>& seg);
// 405 with `allow` in Allow.
http::Response method_not_allowed(std::string allow);
// REQUIRES: s.mu held.
nlohmann::json summary_locked(const Sandbox::State& s);
nlohmann::json workflow_locked(const Sandbox::State& s, const std::string& workflow_id,
                               bool* found);
// {"workflow_id","entries","replays","keys_with_replays"}; found as above.
nlohmann::json workflow_counts_locked(const Sandbox::State& s, const std::string& workflow_id,
                                      bool* found);
// {"key","attempts","successes","replays"} (zeros for an unseen key).
nlohmann::json attempts_locked(const Sandbox::State& s, const std::string& key);

}  // namespace orch::sandbox::detail
