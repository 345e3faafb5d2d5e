#include "api/cli/bench_reservations.h"

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <nlohmann/json.hpp>

#include "adapters/http/blocking_http.h"
#include "adapters/http/http_client.h"
#include "api/cli/bench_processes.h"
#include "api/cli/child_process.h"
#include "engine/json/json_read.h"

namespace orch::api {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::seconds kEvictionTimeout{60};
constexpr int kDailyCap = 1000;  // caps are checked on every reserve; none is hit

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Runs `total` chains of calls, at most `concurrency` at once, on one
// io_context thread over keep-alive connections. A chain is started with its
// index and a `done` to call when it ends.
class LoadDriver {
 public:
  using Then = std::function<void(int status, json body)>;
  using Chain = std::function<void(int index, std::function<void()> done)>;

  LoadDriver(std::string base, int concurrency)
      : base_(std::move(base)),
        concurrency_(concurrency),
        // The API is on this machine: no proxy from the environment.
        client_(io_, http::HttpClient::PoolLimits{1 << 16}, http::ProxyEnvironment{}) {}

  // Seconds taken.
  double run(int total, Chain chain) {
    total_ = total;
    next_ = 0;
    chain_ = std::move(chain);
    const auto t0 = Clock::now();
    for (int c = 0; c < std::min(concurrency_, total_); ++c) start_next();
    io_.restart();
    io_.run();
    return std::chrono::duration<double>(Clock::now() - t0).count();
  }

  void send(const char* method, std::string target, const json& body, Then then) {
    http::Request req;
    req.method = method;
    req.target = std::move(target);
    if (!body.is_null()) {
      req.body = body.dump();
      req.headers.emplace_back("Content-Type", "application/json");
    }
    http::CallOptions options;
    options.timeout = std::chrono::seconds(60);
    client_.send(base_, req, options, [then = std::move(then)](http::CallResult r) {
      if (!r.ok()) return then(0, nullptr);
      json parsed;
      parse_json(r.response.body, parsed);
      then(r.response.status, std::move(parsed));
    });
  }

 private:
  void start_next() {
    if (next_ >= total_) return;
    chain_(next_++, [this] { start_next(); });
  }

  const std::string base_;
  const int concurrency_;
  boost::asio::io_context io_{1};
  http::HttpClient client_;
  int total_ = 0;
  int next_ = 0;
  Chain chain_;
};

struct PairFigures {
  int granted = 0, denied = 0, committed = 0, errors = 0;
  std::vector<double> pair_ms, reserve_ms, commit_ms;
  double seconds = 0;
  double server_cpu_seconds = 0;  // the server's CPU time while they ran
};

class ReservationBench {
 public:
  explicit ReservationBench(ReservationBenchOptions o) : o_(o) {}
  ~ReservationBench() {
    stop_process(server_);
    if (!o_.keep && !dir_.empty()) fs::remove_all(dir_);
  }

  int run() {
    dir_ = fs::temp_directory_path() / ("orch-bench-users-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    api_url_ = "http://127.0.0.1:" + std::to_string(free_loopback_port());
    std::ofstream(dir_ / "config.json") << json{{"log_level", "warn"}}.dump();
    if (!start_server()) return 1;
    const long long rss_empty = sample_process(server_).rss_bytes;

    const double idle_seconds = o_.idle_users > 0 ? create_users("idle-", o_.idle_users) : 0;
    const double setup_seconds = create_users("user-", o_.users);
    if (errors_ > 0) return report_failure("users could not be created");
    const double cpu_before = sample_process(server_).cpu_seconds;
    PairFigures pairs = drive_pairs();
    pairs.server_cpu_seconds = sample_process(server_).cpu_seconds - cpu_before;
    const long long resident = static_cast<long long>(metric(metrics(), "entities_resident"));
    const long long rss_busy = sample_process(server_).rss_bytes;
    const bool evicted = wait_evicted();
    const long long rss_idle = sample_process(server_).rss_bytes;
    const long long known = o_.users + o_.idle_users;
    // And a fresh process on the same store: what a known user costs when
    // it was never loaded.
    stop_process(server_);
    if (!start_server()) return 1;
    const long long rss_restarted = sample_process(server_).rss_bytes;
    print(pairs, setup_seconds, idle_seconds, resident, rss_empty, rss_busy, rss_idle,
          rss_restarted, known, evicted);
    return pairs.errors == 0 && pairs.committed == pairs.granted && evicted ? 0 : 1;
  }

 private:
  bool start_server() {
    const std::string exe = self_exe();
    server_ = spawn({exe, "serve", "--no-auth", "--listen", api_url_.substr(7), "--store",
                     "sqlite:" + (dir_ / "users.db").string(), "--config",
                     (dir_ / "config.json").string()},
                    dir_ / "orchestrator.log");
    if (wait_healthy(http_, api_url_)) return true;
    std::fprintf(stderr, "bench: the orchestrator did not start (see %s)\n",
                 (dir_ / "orchestrator.log").c_str());
    return false;
  }

  std::string metrics() {
    auto r = http_.call(api_url_, "GET", "/metrics", "", {}, std::chrono::seconds(30));
    return r.ok() ? r.response.body : std::string();
  }

  std::string user(const char* prefix, int i) const { return prefix + std::to_string(i); }

  double create_users(const char* prefix, int count) {
    LoadDriver driver(api_url_, o_.concurrency);
    return driver.run(count, [&](int i, std::function<void()> done) {
      driver.send("PUT", "/v1/users/" + user(prefix, i),
                  {{"max_messages_per_day", kDailyCap}, {"timezone", "Europe/Paris"}},
                  [this, done](int status, json) {
                    if (status != 201 && status != 200) ++errors_;
                    done();
                  });
    });
  }

  // Pair i reserves for user (i * 7919) mod U, so consecutive pairs land
  // on different users and every user gets its share.
  PairFigures drive_pairs() {
    PairFigures f;
    LoadDriver driver(api_url_, o_.concurrency);
    f.seconds = driver.run(o_.reservations, [&](int i, std::function<void()> done) {
      const std::string base =
          "/v1/users/" + user("user-", static_cast<int>((static_cast<long long>(i) * 7919) % o_.users));
      const json request = {{"campaign_id", "bench"},
                            {"channel", i % 2 ? "sms" : "email"},
                            {"message_id", "bench-" + std::to_string(i)}};
      const auto t0 = Clock::now();
      driver.send("POST", base + "/reservations", request,
                  [&f, &driver, base, t0, done](int status, json answer) {
                    f.reserve_ms.push_back(ms_since(t0));
                    if (status != 200) {
                      ++f.errors;
                      return done();
                    }
                    if (answer.value("status", "") != "granted") {
                      ++f.denied;
                      return done();
                    }
                    ++f.granted;
                    const auto t1 = Clock::now();
                    driver.send("POST",
                                base + "/reservations/" + answer.value("reservation_id", "") +
                                    "/commit",
                                json::object(), [&f, t0, t1, done](int status, json) {
                                  f.commit_ms.push_back(ms_since(t1));
                                  if (status == 200) {
                                    ++f.committed;
                                    f.pair_ms.push_back(ms_since(t0));
                                  } else {
                                    ++f.errors;
                                  }
                                  done();
                                });
                  });
    });
    return f;
  }

  bool wait_evicted() {
    const auto deadline = Clock::now() + kEvictionTimeout;
    while (Clock::now() < deadline) {
      if (metric(metrics(), "entities_resident") == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return false;
  }

  int report_failure(const std::string& why) {
    std::fprintf(stderr, "bench: %s (%d errors; see %s)\n", why.c_str(), errors_,
                 (dir_ / "orchestrator.log").c_str());
    return 1;
  }

  void print(const PairFigures& f, double setup_seconds, double idle_seconds, long long resident,
             long long rss_empty, long long rss_busy, long long rss_idle, long long rss_restarted,
             long long known, bool evicted) const {
    const double pairs_per_second = f.seconds > 0 ? f.committed / f.seconds : 0;
    const auto per = [](long long bytes, long long n) {
      return n > 0 ? static_cast<double>(bytes) / static_cast<double>(n) : 0.0;
    };
    std::printf("reservations  %d pairs over %d users at C=%d: %.0f pairs/s (%.2f s)\n",
                o_.reservations, o_.users, o_.concurrency, pairs_per_second, f.seconds);
    const double cpu_us_per_pair = f.committed ? f.server_cpu_seconds * 1e6 / f.committed : 0;
    std::printf("  granted %d, committed %d, denied %d, errors %d; server CPU %.0f us per pair\n",
                f.granted, f.committed, f.denied, f.errors, cpu_us_per_pair);
    std::printf("  pair p50 %.2f ms p99 %.2f ms; reserve p50 %.2f p99 %.2f; commit p50 %.2f p99 %.2f\n",
                percentile(f.pair_ms, 0.5), percentile(f.pair_ms, 0.99),
                percentile(f.reserve_ms, 0.5), percentile(f.reserve_ms, 0.99),
                percentile(f.commit_ms, 0.5), percentile(f.commit_ms, 0.99));
    std::printf("  users created: %d in %.2f s%s\n", o_.users, setup_seconds,
                o_.idle_users ? (", plus " + std::to_string(o_.idle_users) + " idle in " +
                                 std::to_string(idle_seconds) + " s").c_str()
                              : "");
    std::printf("  RSS: empty %.1f MiB, busy %.1f MiB (%lld resident: %.0f B each), idle %.1f MiB "
                "(%lld known: %.0f B each), after a restart %.1f MiB (%.0f B each)%s\n",
                rss_empty / 1048576.0, rss_busy / 1048576.0, resident,
                per(rss_busy - rss_empty, resident), rss_idle / 1048576.0, known,
                per(rss_idle - rss_empty, known), rss_restarted / 1048576.0,
                per(rss_restarted - rss_empty, known), evicted ? "" : " [entities not evicted]");
    const json line = {{"bench", "reservations"},
                       {"pairs", o_.reservations},
                       {"users", o_.users},
                       {"idle_users", o_.idle_users},
                       {"concurrency", o_.concurrency},
                       {"pairs_per_second", pairs_per_second},
                       {"pair_p50_ms", percentile(f.pair_ms, 0.5)},
                       {"pair_p99_ms", percentile(f.pair_ms, 0.99)},
                       {"granted", f.granted},
                       {"committed", f.committed},
                       {"errors", f.errors},
                       {"server_cpu_us_per_pair", cpu_us_per_pair},
                       {"rss_per_resident_user_bytes", per(rss_busy - rss_empty, resident)},
                       {"rss_per_known_user_idle_bytes", per(rss_idle - rss_empty, known)},
                       {"rss_per_known_user_restarted_bytes", per(rss_restarted - rss_empty, known)}};
    std::printf("%s\n", line.dump().c_str());
  }

  const ReservationBenchOptions o_;
  fs::path dir_;
  std::string api_url_;
  pid_t server_ = -1;
  int errors_ = 0;
  http::BlockingHttp http_{http::direct_connection()};
};

}  // namespace

int run_reservation_bench(const ReservationBenchOptions& options) {
  return ReservationBench(options).run();
}

}  // namespace orch::api
