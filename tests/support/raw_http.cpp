#include "tests/support/raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <string>

namespace orch::testing {

namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Waits for `events` on `fd` until `deadline`; returns the revents (0 on
// timeout).
short wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return p.revents;
    if (n == 0) return 0;
    if (errno != EINTR) return POLLERR;
  }
}

}  // namespace

RawConnection::RawConnection(std::uint16_t port, int send_buffer) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  if (send_buffer > 0) ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof send_buffer);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return;
  }
  fd_ = fd;
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send_all(std::string_view bytes, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    short ev = wait_for(fd_, POLLOUT, deadline);
    if (!(ev & POLLOUT) || (ev & (POLLERR | POLLHUP))) return false;
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::size_t RawConnection::stream(std::string_view head, std::string_view filler, std::size_t total,
                                  bool stop_at_answer, milliseconds stall) {
  std::size_t sent = 0;
  std::string_view pending = head;
  while (sent < total) {
    if (pending.empty()) pending = filler;
    pending = pending.substr(0, std::min(pending.size(), total - sent));
    const auto deadline = Clock::now() + stall;
    short ev = wait_for(fd_, stop_at_answer ? POLLIN | POLLOUT : POLLOUT, deadline);
    if (ev == 0 || (ev & (POLLIN | POLLERR | POLLHUP)) || !(ev & POLLOUT)) return sent;
    ssize_t n = ::send(fd_, pending.data(), pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return sent;
    }
    sent += static_cast<std::size_t>(n);
    pending.remove_prefix(static_cast<std::size_t>(n));
  }
  return sent;
}

RawConnection::Received RawConnection::read_until_close(milliseconds timeout) {
  Received out;
  const auto deadline = Clock::now() + timeout;
  char buf[16 * 1024];
  for (;;) {
    short ev = wait_for(fd_, POLLIN, deadline);
    if (ev == 0) return out;  // deadline
    ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      out.bytes.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
    out.closed = true;  // 0: EOF; <0: a reset
    return out;
  }
}

bool RawConnection::closed_within(milliseconds timeout) { return read_until_close(timeout).closed; }

int first_status(std::string_view bytes) {
  if (bytes.size() < 12 || bytes.substr(0, 7) != "HTTP/1.") return 0;
  int status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (bytes[i] < '0' || bytes[i] > '9') return 0;
    status = status * 10 + (bytes[i] - '0');
  }
  return status;
}

int count_responses(std::string_view bytes) {
  int n = 0;
  std::size_t at = 0;
  while ((at = bytes.find("HTTP/1.", at)) != std::string_view::npos) {
    if (first_status(bytes.substr(at)) != 0) ++n;
    at += 7;
  }
  return n;
}

namespace {
// A "Key:   123 kB" line of /proc/<pid>/status, in bytes; 0 when absent.
std::size_t status_kib_line(int pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stoull(line.substr(key.size())) * 1024;  // kB
  }
  return 0;
}
}  // namespace

std::size_t resident_bytes(int pid) { return status_kib_line(pid, "VmRSS:"); }
std::size_t peak_resident_bytes(int pid) { return status_kib_line(pid, "VmHWM:"); }

bool reset_peak_resident(int pid) {
  // "5" resets the peak resident set size to the current one (proc(5)).
  std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace orch::testing
