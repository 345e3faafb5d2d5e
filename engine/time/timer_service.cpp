#include "engine/time/timer_service.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace orch::engine {

struct TimerService::Impl {
  explicit Impl(boost::asio::io_context& io) : io(io), timer(io) {}
  boost::asio::io_context& io;
  boost::asio::steady_timer timer;
  TimeMs armed_for = 0;
  bool alive = true;
};

TimerService::TimerService(boost::asio::io_context& io, Clock& clock, Fire fire)
    : impl_(std::make_shared<Impl>(io)), clock_(clock), fire_(std::move(fire)) {
  std::weak_ptr<Impl> weak = impl_;
  clock_.on_jump([this, weak] {
    auto impl = weak.lock();
    if (!impl) return;
    boost::asio::post(impl->io, [this, weak] {
      auto impl = weak.lock();
      if (impl && impl->alive) fire_due();
    });
  });
}

TimerService::~TimerService() {
  impl_->alive = false;
  impl_->timer.cancel();
}

void TimerService::arm(const std::string& key, TimeMs deadline) {
  auto it = by_key_.find(key);
  if (it != by_key_.end()) {
    if (it->second->first == deadline) return;
    by_deadline_.erase(it->second);
    by_key_.erase(it);
  }
  by_key_.emplace(key, by_deadline_.emplace(deadline, key));
  reschedule();
}

void TimerService::cancel(const std::string& key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  by_deadline_.erase(it->second);
  by_key_.erase(it);
}

void TimerService::reschedule() {
  if (by_deadline_.empty()) return;
  const TimeMs earliest = by_deadline_.begin()->first;
  if (impl_->armed_for != 0 && impl_->armed_for <= earliest) return;
  impl_->armed_for = earliest;
  const TimeMs wait = std::max<TimeMs>(0, earliest - clock_.now_ms());
  impl_->timer.expires_after(std::chrono::milliseconds(wait));
  std::weak_ptr<Impl> weak = impl_;
  impl_->timer.async_wait([this, weak](const boost::system::error_code& ec) {
    auto impl = weak.lock();
    if (!impl || !impl->alive) return;
    if (ec) return;  // moved to an earlier deadline; that wait re-arms
    impl->armed_for = 0;
    fire_due();
  });
}

void TimerService::fire_due() {
  const TimeMs now = clock_.now_ms();
  while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
    std::string key = by_deadline_.begin()->second;
    by_key_.erase(key);
    by_deadline_.erase(by_deadline_.begin());
    fire_(key);
  }
  impl_->armed_for = 0;
  reschedule();
}

}  // namespace orch::engine
