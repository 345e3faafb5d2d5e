#include "api/cli/bench_processes.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "adapters/http/blocking_http.h"
#include "api/cli/child_process.h"

namespace orch::api {

bool wait_healthy(http::BlockingHttp& http, const std::string& url) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = http.call(url, "GET", "/health", "", {}, std::chrono::milliseconds(500));
    if (r.ok() && r.response.status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

namespace {
constexpr std::chrono::seconds kStopTimeout{30};
}  // namespace

std::string self_exe() {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

// The child dies with the benchmark so nothing is left running; /proc/self/exe
// is this very binary even if the file was replaced since.
pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  return spawn_child("/proc/self/exe", argv, log, /*die_with_parent=*/true);
}

// SIGTERM, then SIGKILL if it does not exit in time. Returns true on a clean exit.
bool stop_process(pid_t pid) {
  if (pid <= 0) return true;
  ::kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return false;
}

ProcessSample sample_process(pid_t pid) {
  ProcessSample s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start at state (3).
  if (auto close = text.rfind(')'); close != std::string::npos) {
    std::istringstream in(text.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && in >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    auto kib = [&](const char* key) -> long long {
      if (line.rfind(key, 0) != 0) return -1;
      return std::stoll(line.substr(std::string_view(key).size())) * 1024;
    };
    if (long long v = kib("VmRSS:"); v >= 0) s.rss_bytes = v;
    if (long long v = kib("VmHWM:"); v >= 0) s.peak_rss_bytes = v;
  }
  return s;
}

std::vector<ThreadTime> thread_times(pid_t pid) {
  std::vector<ThreadTime> out;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(entry.path() / "schedstat");
    unsigned long long run_ns = 0, wait_ns = 0;
    if (!(in >> run_ns >> wait_ns)) continue;
    out.push_back({std::stoi(entry.path().filename().string()), static_cast<double>(run_ns) / 1e9,
                   static_cast<double>(wait_ns) / 1e9});
  }
  return out;
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  return one;
}

// The value of an unlabelled series in Prometheus text format (0 if absent).
double metric(const std::string& text, const std::string& name) {
  std::size_t at = 0;
  while ((at = text.find(name, at)) != std::string::npos) {
    const bool line_start = at == 0 || text[at - 1] == '\n';
    const std::size_t after = at + name.size();
    if (line_start && after < text.size() && text[after] == ' ')
      return std::strtod(text.c_str() + after + 1, nullptr);
    at = after;
  }
  return 0;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i =
      std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

}  // namespace orch::api
