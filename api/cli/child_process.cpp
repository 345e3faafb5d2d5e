#include "api/cli/child_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>


namespace orch::api {

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Everything the child needs is made before fork(): the parent has other
// threads (an HTTP client's, a kill loop's), and a forked child may only make
// async-signal-safe calls until it execs. A malloc there (fopen, a vector)
// can wait forever on an allocator lock another thread held at the fork:
// AddressSanitizer's allocator did, now and then, in the crash harness, and
// the orchestrator it restarted never ran.
pid_t spawn_child(const std::string& program, const std::vector<std::string>& argv,
                  const std::filesystem::path& log, bool die_with_parent) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    if (die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
    }
    if (out >= 0) {  // dup2 leaves the copies open across exec
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    ::execv(program.c_str(), args.data());
    ::_exit(127);
  }
  if (out >= 0) ::close(out);
  return pid;
}

}  // namespace orch::api
