// Child processes of the benchmark and the crash harness: a free loopback
// port to give a child, and starting a child with its output in a log file.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace orch::api {

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_loopback_port();

// Starts `program` with `argv` (argv[0] included), stdout and stderr appended
// to `log`. With `die_with_parent` the child gets SIGKILL when the calling
// thread exits (PR_SET_PDEATHSIG), so a benchmark that dies leaves nothing
// running; spawn from a thread that outlives the child.
pid_t spawn_child(const std::string& program, const std::vector<std::string>& argv,
                  const std::filesystem::path& log, bool die_with_parent);

}  // namespace orch::api
