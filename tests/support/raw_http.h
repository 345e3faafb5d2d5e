// Raw TCP for tests that speak bytes to an HTTP server (or play a hostile
// one): blocking sockets on 127.0.0.1 with a deadline on every wait, so a
// server that stops answering fails the test instead of hanging it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace orch::testing {

using std::chrono::milliseconds;

// One client connection. Not copyable; closes its socket on destruction.
class RawConnection {
 public:
  // Connects to 127.0.0.1:port; ok() says whether it did. A non-zero
  // `send_buffer` caps the kernel's send buffer (SO_SNDBUF), so a peer
  // that stops reading stops this side's writes early.
  explicit RawConnection(std::uint16_t port, int send_buffer = 0);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  // Sends all of `bytes` within `timeout`; false if the peer closed, reset
  // or stopped taking bytes.
  bool send_all(std::string_view bytes, milliseconds timeout = milliseconds(2'000));

  // Sends `head`, then `filler` over and over until `total` bytes went out,
  // the peer stopped taking bytes for `stall` or closed, or (with
  // `stop_at_answer`) it answered. Returns how many bytes went out.
  std::size_t stream(std::string_view head, std::string_view filler, std::size_t total,
                     bool stop_at_answer = true, milliseconds stall = milliseconds(2'000));

  // Reads until the peer closes (EOF or reset) or `timeout` passes.
  struct Received {
    std::string bytes;
    bool closed = false;  // EOF or a reset was seen before the deadline
  };
  Received read_until_close(milliseconds timeout);

  // True when the peer has closed (EOF or reset) within `timeout`; bytes
  // that arrive before are read and dropped.
  bool closed_within(milliseconds timeout);

 private:
  int fd_ = -1;
};

// The number of "HTTP/1.x NNN " status lines in `bytes`: the responses in a
// raw reply whose bodies do not quote one.
int count_responses(std::string_view bytes);

// The status code of the first response in `bytes`, or 0.
int first_status(std::string_view bytes);

// The resident set size of process `pid` (VmRSS in /proc/<pid>/status), in
// bytes; 0 when it cannot be read.
std::size_t resident_bytes(int pid);
// Its peak since it started or since reset_peak_resident (VmHWM), the same way.
std::size_t peak_resident_bytes(int pid);
// Starts the peak over from the current resident size; false when the kernel
// refused (then the peak still counts from the start).
bool reset_peak_resident(int pid);

}  // namespace orch::testing
