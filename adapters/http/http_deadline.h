// The deadline of one connection's I/O, shared by the server's sessions and
// the client's pooled connections. It behaves like beast::tcp_stream's
// expiry (an operation pending when the deadline passes fails, because the
// owner closes its socket; one started after it should fail at once, see
// passed()), with one timer per connection instead of one wait per
// operation: moving the deadline later costs nothing (the timer, firing
// early, re-arms itself for the new time), only an earlier one re-arms.
// Nothing times out while no operation is pending (a server waiting for its
// handler, a call between attempts). Internal to the server's sessions
// (adapters/http/http_session*.cpp) and the client (http_client*.cpp).
#pragma once

#include <chrono>
#include <cstdint>

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/system/error_code.hpp>

#include "adapters/http/http_stream.h"

namespace orch::http::detail {

using Timer = boost::asio::basic_waitable_timer<
    std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>, Executor>;

// Owner: managed by a shared_ptr (enable_shared_from_this), with
//   void on_deadline();  // the pending operation's time is up: close the socket
// The timer holds its owner weakly, so it never keeps a connection alive.
// REQUIRES: used on the owner's executor only; a member of its owner.
template <class Owner>
class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  Deadline(const Executor& ex, Owner& owner) : timer_(ex), owner_(owner) {}
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // The operations from now on must end by `at`.
  void expires_at(Clock::time_point at) {
    at_ = at;
    if (!armed_ || at < armed_at_) arm();
  }
  void expires_after(Clock::duration d) { expires_at(Clock::now() + d); }

  // Whether an operation is outstanding: the deadline acts only then.
  void pending(bool p) { pending_ = p; }

  // No operation is outstanding and none follows soon: the timer is
  // cancelled, so an idle connection leaves no work on the io_context.
  void cancel() {
    pending_ = false;
    if (armed_) {
      armed_ = false;
      ++gen_;
      timer_.cancel();
    }
  }

  bool passed() const { return Clock::now() >= at_; }
  Clock::time_point at() const { return at_; }

 private:
  void arm() {
    armed_ = true;
    armed_at_ = at_;
    timer_.expires_at(at_);
    timer_.async_wait(
        [this, w = owner_.weak_from_this(), g = ++gen_](boost::system::error_code ec) {
          if (auto self = w.lock()) on_timer(ec, g);  // `this` lives as long as its owner
        });
  }

  void on_timer(boost::system::error_code ec, std::uint64_t g) {
    if (g != gen_) return;  // superseded by a re-arm or a cancel
    armed_ = false;
    if (ec || !pending_) return;
    if (passed()) return owner_.on_deadline();
    arm();
  }

  Timer timer_;
  Owner& owner_;
  Clock::time_point at_{};
  Clock::time_point armed_at_{};
  std::uint64_t gen_ = 0;
  bool armed_ = false;
  bool pending_ = false;
};

}  // namespace orch::http::detail
