// `orchestrator bench`: drives the REST API like a real client (keep-alive
// connections, at most C campaigns in flight), approves each campaign as soon
// as it reaches review, follows it to its end, and reports throughput,
// latency and the sandbox's side-effect count.
//
// This first version runs the orchestrator and the sandbox in-process (each
// on its own thread) on a fresh SQLite store with fsync on.
#pragma once

#include <string>
#include <vector>

namespace orch::api {
int run_bench(const std::vector<std::string>& args);
}  // namespace orch::api
