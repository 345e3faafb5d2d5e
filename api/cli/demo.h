// `orchestrator demo`: a real server with SQLite and the in-process sandbox,
// one sample campaign driven through the REST API, approved at review, with
// phase-by-phase progress on the terminal.
#pragma once

#include <string>
#include <vector>

namespace orch::api {
// `args`: [--keep-serving] [--listen HOST:PORT]. With --keep-serving the
// server stays up after the campaign (until SIGINT or SIGTERM) so the
// commands it prints can be tried. Returns the process exit code (0 when
// the campaign completed; 2 for bad arguments).
int run_demo(const std::vector<std::string>& args);
}  // namespace orch::api
