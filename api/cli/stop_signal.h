// Waiting for an operator's stop: SIGINT (Ctrl-C) or SIGTERM.
#pragma once

namespace orch::api {

// Blocks until the process receives SIGINT or SIGTERM.
void wait_for_stop_signal();

}  // namespace orch::api
