#include "api/bench.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "adapters/http_client.h"
#include "adapters/sandbox/sandbox.h"
#include "api/orchestrator_app.h"
#include "phases/campaign_input.h"

namespace orch::api {

namespace net = boost::asio;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::milliseconds kPollInterval{5};

struct BenchOptions {
  int workflows = 1000;
  int concurrency = 50;
  int latency_ms = 0;
};

json bench_campaign(int i) {
  return phases::sample_campaign_input("bench " + std::to_string(i), {"bench-reviewer"});
}

// One client lane: start, poll until review, approve, poll until the end.
class Lane : public std::enable_shared_from_this<Lane> {
 public:
  struct Shared {
    net::io_context& io;
    http::HttpClient& client;
    std::string base;
    int total;
    int next = 0;
    int done = 0;
    int failed = 0;
    std::vector<double> latencies_ms;
  };
  explicit Lane(Shared& shared) : s_(shared), timer_(shared.io) {}

  void next() {
    if (s_.next >= s_.total) return;
    const int i = s_.next++;
    started_ = Clock::now();
    approved_ = false;
    send("POST", "/v1/campaigns", bench_campaign(i).dump(), [self = shared_from_this()](const json& b) {
      self->id_ = b.value("workflow_id", "");
      self->poll();
    });
  }

 private:
  void send(const std::string& method, const std::string& target, std::string body,
            std::function<void(const json&)> then) {
    http::Request req;
    req.method = method;
    req.target = target;
    req.body = std::move(body);
    http::CallOptions options;
    options.timeout = std::chrono::seconds(30);
    s_.client.send(s_.base, std::move(req), options,
                   [self = shared_from_this(), then = std::move(then)](http::CallResult r) {
                     if (!r.ok() || r.response.status >= 300) {
                       ++self->s_.failed;
                       ++self->s_.done;
                       self->next();
                       return;
                     }
                     then(json::parse(r.response.body, nullptr, false));
                   });
  }

  void poll() {
    timer_.expires_after(kPollInterval);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code&) {
      self->send("GET", "/v1/workflows/" + self->id_ + "/progress", "", [self](const json& p) {
        const std::string status = p.value("status", "");
        if (status == "awaiting_approval" && !self->approved_) {
          self->approved_ = true;
          json body = {{"reviewer", "bench-reviewer"}};
          self->send("POST", "/v1/workflows/" + self->id_ + "/signals/approve", body.dump(),
                     [self](const json&) { self->poll(); });
          return;
        }
        if (status == "completed" || status == "failed" || status == "cancelled") {
          if (status != "completed") ++self->s_.failed;
          self->s_.latencies_ms.push_back(
              std::chrono::duration<double, std::milli>(Clock::now() - self->started_).count());
          ++self->s_.done;
          self->next();
          return;
        }
        self->poll();
      });
    });
  }

  Shared& s_;
  net::steady_timer timer_;
  std::string id_;
  Clock::time_point started_;
  bool approved_ = false;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

bool parse_int(const std::string& s, int min, int* out) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  *out = std::stoi(s);
  return *out >= min;
}

}  // namespace

int run_bench(const std::vector<std::string>& args) {
  BenchOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const bool has = i + 1 < args.size();
    bool ok = has;
    if (args[i] == "--workflows" && has) ok = parse_int(args[++i], 1, &o.workflows);
    else if (args[i] == "--concurrency" && has) ok = parse_int(args[++i], 1, &o.concurrency);
    else if (args[i] == "--latency" && has) ok = parse_int(args[++i], 0, &o.latency_ms);
    else ok = false;
    if (!ok) {
      std::fprintf(stderr,
                   "usage: orchestrator bench --workflows N --concurrency C [--latency MS]\n");
      return 2;
    }
  }
  std::filesystem::path dir;
  AppConfig config = throwaway_sandbox_config("bench", &dir);
  config.sandbox_latency = std::chrono::milliseconds(o.latency_ms);
  config.tuning.retry_initial_interval = std::chrono::milliseconds(50);
  OrchestratorApp app(config);
  if (std::string e = app.start(); !e.empty()) {
    std::fprintf(stderr, "bench: %s\n", e.c_str());
    return 1;
  }

  net::io_context io{1};
  http::HttpClient client(io);
  Lane::Shared shared{io, client, app.base_url(), o.workflows, 0, 0, 0, {}};
  const auto t0 = Clock::now();
  for (int c = 0; c < std::min(o.concurrency, o.workflows); ++c)
    std::make_shared<Lane>(shared)->next();
  io.run();
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  const json ledger = app.sandbox()->ledger_summary();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  const auto& lat = shared.latencies_ms;
  const long long side_effects = ledger.value("side_effects", 0LL);
  const long long duplicates = ledger.value("replays", 0LL);
  json result = {
      {"workflows", o.workflows},
      {"concurrency", o.concurrency},
      {"sandbox_latency_ms", o.latency_ms},
      {"failed", shared.failed},
      {"seconds", seconds},
      {"campaigns_per_second", static_cast<double>(o.workflows) / seconds},
      {"latency_ms",
       {{"p50", percentile(lat, 0.50)},
        {"p95", percentile(lat, 0.95)},
        {"p99", percentile(lat, 0.99)},
        {"max", lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end())}}},
      {"side_effects", side_effects},
      {"expected_side_effects", 15LL * o.workflows},
      {"duplicates", duplicates},
      {"process_cpu_seconds_per_campaign", cpu / o.workflows},
      {"peak_rss_bytes", static_cast<long long>(usage.ru_maxrss) * 1024},
      {"mode", "in-process orchestrator and sandbox, REST over loopback, SQLite fsync on"}};
  std::printf("campaigns           %d (concurrency %d, sandbox latency %d ms)\n", o.workflows,
              o.concurrency, o.latency_ms);
  std::printf("campaigns/s         %.1f\n", result["campaigns_per_second"].get<double>());
  std::printf("latency ms          p50 %.1f  p95 %.1f  p99 %.1f  max %.1f\n",
              result["latency_ms"]["p50"].get<double>(), result["latency_ms"]["p95"].get<double>(),
              result["latency_ms"]["p99"].get<double>(), result["latency_ms"]["max"].get<double>());
  std::printf("side effects        %lld of %lld expected, %lld duplicates, %d failed\n",
              side_effects, 15LL * o.workflows, duplicates, shared.failed);
  std::printf("cpu s per campaign  %.5f (whole process: server, sandbox and client)\n",
              cpu / o.workflows);
  std::printf("peak RSS            %.1f MiB\n", static_cast<double>(usage.ru_maxrss) / 1024.0);
  std::printf("%s\n", result.dump().c_str());
  app.stop();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  const bool correct = shared.failed == 0 && side_effects == 15LL * o.workflows && duplicates == 0;
  return correct ? 0 : 1;
}

}  // namespace orch::api
