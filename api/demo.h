// `orchestrator demo`: a real server with SQLite and the in-process sandbox,
// one sample campaign driven through the REST API, approved at review, with
// phase-by-phase progress on the terminal.
#pragma once

namespace orch::api {
// Returns the process exit code (0 when the campaign completed).
int run_demo();
}  // namespace orch::api
