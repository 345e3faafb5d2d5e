#include "api/cli/bench_broadcasts.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/http/blocking_http.h"
#include "api/cli/bench_processes.h"
#include "api/cli/child_process.h"

namespace orch::api {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kImportBatch = 10'000;

class BroadcastBench {
 public:
  explicit BroadcastBench(BroadcastBenchOptions o) : o_(o) {}
  ~BroadcastBench() {
    stop_process(server_);
    stop_process(sandbox_);
    if (!o_.keep && !dir_.empty()) fs::remove_all(dir_);
  }

  int run() {
    dir_ = fs::temp_directory_path() / ("orch-bench-broadcast-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    if (!start()) return fail("the servers did not start (logs in " + dir_.string() + ")");
    const auto import_start = Clock::now();
    if (!import_customers()) return fail("the customers could not be imported");
    const double import_seconds = seconds_since(import_start);
    std::vector<std::string> ids;
    for (int b = 0; b < o_.broadcasts; ++b) {
      auto [status, body] = call("POST", "/v1/broadcasts",
                                 {{"name", "bench " + std::to_string(b)},
                                  {"channel", "sms"},
                                  {"base_template", "Hi {first_name|there}, {preferred_product|it} is on sale"}});
      if (status != 201) return fail("create: " + body.dump());
      ids.push_back(body["id"]);
    }
    const long long rss_before = sample_process(server_).rss_bytes;
    const double cpu_before = sample_process(server_).cpu_seconds;
    const auto t0 = Clock::now();
    for (int b = 0; b < o_.broadcasts; ++b) {
      auto [status, body] = call("POST", "/v1/broadcasts/" + ids[b] + "/send",
                                 {{"segment", {{"location", location(b)}}}});
      if (status != 202) return fail("send: " + body.dump());
    }
    long long peak_rss = 0;
    std::vector<json> settled(ids.size());
    for (std::size_t b = 0; b < ids.size();) {
      peak_rss = std::max(peak_rss, sample_process(server_).rss_bytes);
      auto [status, body] = call("GET", "/v1/broadcasts/" + ids[b], nullptr);
      if (status == 200 && (body["status"] == "sent" || body["status"] == "failed")) {
        settled[b++] = body;
        continue;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const double send_seconds = seconds_since(t0);
    const double server_cpu = sample_process(server_).cpu_seconds - cpu_before;
    std::vector<double> stats_ms;
    for (int i = 0; i < 50; ++i) {
      const auto q = Clock::now();
      call("GET", "/v1/broadcasts/" + ids[i % ids.size()], nullptr);
      stats_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - q).count());
    }
    return report(ids, settled, import_seconds, send_seconds, server_cpu, rss_before, peak_rss,
                  stats_ms);
  }

 private:
  std::string location(int b) const { return "city-" + std::to_string(b); }

  bool start() {
    const std::string exe = self_exe();
    const std::string sandbox = "127.0.0.1:" + std::to_string(free_loopback_port());
    api_url_ = "http://127.0.0.1:" + std::to_string(free_loopback_port());
    sandbox_url_ = "http://" + sandbox;
    sandbox_ = spawn({exe, "sandbox", "--listen", sandbox, "--latency", std::to_string(o_.latency_ms)},
                     dir_ / "sandbox.log");
    json services = json::object();
    for (const char* s : {"notion", "tool_service", "memory_gateway", "slm", "figma", "github",
                          "github_pages", "slack", "sendgrid", "buffer", "grafana", "messaging",
                          "rewards"})
      services[s] = {{"url", sandbox_url_}, {"token", "bench-token"}, {"settings", {{"proxy", ""}}}};
    services["messaging"]["settings"]["max_concurrent"] =
        std::to_string(2 * o_.concurrency * o_.broadcasts);
    std::ofstream(dir_ / "config.json")
        << json{{"log_level", "warn"}, {"services", services},
                {"broadcast_concurrency", o_.concurrency}}
               .dump();
    server_ = spawn({exe, "serve", "--no-auth", "--listen", api_url_.substr(7), "--store",
                     "sqlite:" + (dir_ / "broadcasts.db").string(), "--config",
                     (dir_ / "config.json").string()},
                    dir_ / "orchestrator.log");
    return wait_healthy(http_, sandbox_url_) && wait_healthy(http_, api_url_);
  }

  // Customer i lives in the location of broadcast i % K.
  bool import_customers() {
    for (int first = 0; first < o_.customers; first += kImportBatch) {
      json batch = json::array();
      for (int i = first; i < std::min(o_.customers, first + kImportBatch); ++i) {
        const std::string n = std::to_string(i);
        batch.push_back({{"id", "cust-" + n},
                         {"phone", "+2547" + std::string(8 - std::min<std::size_t>(8, n.size()), '0') + n},
                         {"first_name", "Name" + n},
                         {"location", location(i % o_.broadcasts)}});
      }
      auto [status, body] = call("POST", "/v1/customers", batch);
      if (status != 200 || body.value("refused", 1) != 0) {
        std::fprintf(stderr, "import: %d %s\n", status, body.dump().substr(0, 300).c_str());
        return false;
      }
    }
    return true;
  }

  std::pair<int, json> call(const std::string& method, const std::string& target, const json& body) {
    auto r = http_.call(api_url_, method, target, body.is_null() ? "" : body.dump(),
                        {{"Content-Type", "application/json"}}, std::chrono::seconds(120));
    if (!r.ok()) return {0, nullptr};
    return {r.response.status, json::parse(r.response.body, nullptr, false)};
  }

  int report(const std::vector<std::string>& ids, const std::vector<json>& settled,
             double import_seconds, double send_seconds, double server_cpu, long long rss_before,
             long long peak_rss, const std::vector<double>& stats_ms) {
    long long sent = 0, failed = 0, skipped = 0, effects = 0, replays = 0;
    for (std::size_t b = 0; b < ids.size(); ++b) {
      const json& stats = settled[b]["stats"];
      sent += stats.value("sent", 0LL);
      failed += stats.value("failed", 0LL);
      skipped += stats.value("skipped", 0LL);
      auto r = http_.call(sandbox_url_, "GET", "/sandbox/ledger/" + ids[b] + "?summary=true");
      const json ledger = r.ok() ? json::parse(r.response.body, nullptr, false) : json();
      if (ledger.is_object()) {
        effects += ledger.value("entries", 0LL);
        replays += ledger.value("replays", 0LL);
      }
    }
    const double messages = o_.customers;
    const json out = {
        {"mode", "broadcast"},
        {"customers", o_.customers},
        {"broadcasts", o_.broadcasts},
        {"latency_ms", o_.latency_ms},
        {"broadcast_concurrency", o_.concurrency},
        {"import_seconds", import_seconds},
        {"send_seconds", send_seconds},
        {"messages_per_second", messages / send_seconds},
        {"sent", sent},
        {"failed", failed},
        {"skipped", skipped},
        {"sandbox_effects", effects},
        {"sandbox_replays", replays},
        {"server_cpu_us_per_message", server_cpu * 1e6 / messages},
        {"rss_before_send_bytes", rss_before},
        {"rss_peak_during_send_bytes", peak_rss},
        {"stats_query_p50_ms", percentile(stats_ms, 0.5)},
        {"stats_query_p99_ms", percentile(stats_ms, 0.99)}};
    std::printf("broadcast bench: %d customers in %d broadcast(s), sandbox latency %d ms\n",
                o_.customers, o_.broadcasts, o_.latency_ms);
    std::printf("  import          %8.2f s\n", import_seconds);
    std::printf("  send            %8.2f s   %10.0f messages/s\n", send_seconds, messages / send_seconds);
    std::printf("  sent/failed/skipped  %lld / %lld / %lld; sandbox effects %lld, replays %lld\n",
                sent, failed, skipped, effects, replays);
    std::printf("  server CPU      %8.1f us a message\n", server_cpu * 1e6 / messages);
    std::printf("  RSS             %8.1f MiB before, %.1f MiB peak during the send\n",
                rss_before / 1048576.0, peak_rss / 1048576.0);
    std::printf("  stats query     %8.2f ms p50, %.2f ms p99\n", percentile(stats_ms, 0.5),
                percentile(stats_ms, 0.99));
    std::printf("%s\n", out.dump().c_str());
    const bool ok = sent == o_.customers && effects == o_.customers && failed == 0;
    if (!ok) std::fprintf(stderr, "broadcast bench: not every message was sent exactly once\n");
    return ok ? 0 : 1;
  }

  int fail(const std::string& why) {
    std::fprintf(stderr, "broadcast bench: %s\n", why.c_str());
    return 1;
  }
  static double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  }

  const BroadcastBenchOptions o_;
  fs::path dir_;
  std::string api_url_, sandbox_url_;
  pid_t server_ = -1, sandbox_ = -1;
  http::BlockingHttp http_{http::direct_connection()};
};

}  // namespace

int run_broadcast_bench(const BroadcastBenchOptions& options) {
  return BroadcastBench(options).run();
}

}  // namespace orch::api
