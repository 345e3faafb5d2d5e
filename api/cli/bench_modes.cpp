// The benchmark's modes beyond the main run: permanent failures injected
// into the email send (--fail-rate), poisoned campaigns (--poison-rate), and
// campaigns parked at review across a restart (--parked).
#include <chrono>
#include <string>
#include <thread>
#include <utility>

#include "api/cli/bench_harness.h"

namespace orch::api::bench {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

bool Bench::inject_failures() {
  // Permanent (4xx) failures of the email send, in distribution: the saga
  // unwinds and compensates content, design, social and blog.
  const json fault = {{"path_prefix", "/v3/mail/send"},
                      {"method", "POST"},
                      {"status", 400},
                      {"rate", o_.fail_rate}};
  auto r = http_->call(sandbox_url_, "POST", "/sandbox/faults", fault.dump(),
                       {{"Content-Type", "application/json"}});
  return r.ok() && r.response.status == 201;
}

bool Bench::inject_poison() {
  json ids = json::array();
  for (int i = 0; i < o_.workflows; ++i)
    if (Driver::poisoned(i, o_.poison_rate)) ids.push_back(Driver::campaign_id("run", i));
  const json fault = {{"path_prefix", "/v3/mail/send"},
                      {"method", "POST"},
                      {"status", 500},
                      {"workflow_ids", std::move(ids)}};
  auto r = http_->call(sandbox_url_, "POST", "/sandbox/faults", fault.dump(),
                       {{"Content-Type", "application/json"}});
  return r.ok() && r.response.status == 201;
}

std::string Bench::run_parked(const ProcessSample& empty, json* out, Driver::Result* resumed) {
  const ProcessSample before = sample_process(orchestrator_);
  Driver::Result parked =
      Driver(api_url_, DriveMode::park, o_.parked, o_.concurrency, "parked").run();
  if (parked.parked != o_.parked)
    return "only " + std::to_string(parked.parked) + " of " + std::to_string(o_.parked) +
           " campaigns reached review";
  // Campaigns waiting for a human leave memory once idle for the server's
  // passivate_after_ms: wait (at most 30 s) until they have, as a server
  // that has been up a while would be, then sample.
  const auto settle = Clock::now();
  long long resident = -1;
  while (Clock::now() - settle < std::chrono::seconds(30)) {
    const json ready = json::parse(get(api_url_, "/ready"), nullptr, false);
    resident = ready.is_object() ? ready.value("resident_workflows", -1LL) : -1;
    if (resident == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double settle_seconds = std::chrono::duration<double>(Clock::now() - settle).count();
  const ProcessSample live = sample_process(orchestrator_);

  if (!stop_process(orchestrator_)) return "the orchestrator did not stop cleanly";
  const auto restart = Clock::now();
  start_orchestrator();
  if (!wait_ready(api_url_, "/ready", orchestrator_)) return "the orchestrator did not restart";
  const double recover_seconds = std::chrono::duration<double>(Clock::now() - restart).count();
  const ProcessSample recovered = sample_process(orchestrator_);
  const json ready = json::parse(get(api_url_, "/ready"), nullptr, false);
  const long long active = ready.is_object() ? ready.value("active_workflows", 0LL) : 0;
  if (active < o_.parked)
    return "after the restart only " + std::to_string(active) + " workflows are active";

  if (!o_.park_only)
    *resumed = Driver(api_url_, DriveMode::resume, o_.parked, o_.concurrency, "resume",
                      std::move(parked.parked_ids))
                   .run();
  const double m = o_.parked;
  *out = {{"workflows", o_.parked},
          {"park_seconds", parked.seconds},
          {"rss_empty_bytes", empty.rss_bytes},
          {"rss_before_bytes", before.rss_bytes},
          {"settle_seconds", settle_seconds},
          {"resident_when_sampled", resident},
          {"rss_parked_bytes", live.rss_bytes},
          {"rss_per_parked_bytes", static_cast<double>(live.rss_bytes - before.rss_bytes) / m},
          {"recover_seconds", recover_seconds},
          {"rss_recovered_bytes", recovered.rss_bytes},
          {"rss_recovered_per_parked_bytes",
           static_cast<double>(recovered.rss_bytes - empty.rss_bytes) / m},
          {"active_after_restart", active},
          {"resume_seconds", resumed->seconds},
          {"resumed_completed", resumed->completed},
          {"resumed_failed", resumed->failed},
          {"resumed_errors", resumed->errors}};
  return "";
}

}  // namespace orch::api::bench
