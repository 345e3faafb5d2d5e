#include "api/cli/bench_route_probe.h"

#include <chrono>

#include "adapters/http/blocking_http.h"

namespace orch::api::events_bench {

using Clock = std::chrono::steady_clock;

namespace {
constexpr std::chrono::seconds kTimeout{30};
}  // namespace

RouteProbe::RouteProbe(std::string base, std::vector<std::string> targets)
    : base_(std::move(base)), targets_(std::move(targets)) {}

RouteProbe::~RouteProbe() { stop(); }

void RouteProbe::start() {
  thread_ = std::thread([this] { run(); });
}

void RouteProbe::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void RouteProbe::run() {
  http::BlockingHttp http(http::direct_connection());
  const auto period = std::chrono::microseconds(1'000'000 / kPerSecond);
  auto next = Clock::now();
  for (std::size_t k = 0; !stop_; ++k) {
    const int route = static_cast<int>(k % targets_.size());
    const int phase = phase_;
    const auto t0 = Clock::now();
    auto r = http.call(base_, "GET", targets_[route], "", {}, kTimeout);
    samples_.push_back({phase, route,
                        std::chrono::duration<double, std::milli>(Clock::now() - t0).count(),
                        r.ok() && r.response.status == 200});
    next += period;
    std::this_thread::sleep_until(next);
  }
}

}  // namespace orch::api::events_bench
