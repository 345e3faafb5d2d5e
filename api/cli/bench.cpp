#include "api/cli/bench.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/http/blocking_http.h"
#include "adapters/http/http_client.h"
#include "adapters/sandbox/throwaway_ca.h"
#include "api/cli/bench_processes.h"
#include "api/cli/bench_reservations.h"
#include "api/cli/child_process.h"
#include "engine/json/json_read.h"
#include "phases/campaign/campaign_input.h"

namespace orch::api {

namespace net = boost::asio;
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// The standard input: one competitor URL and three channels.
constexpr long long kEffectsPerCompleted = 15;
// Failed in distribution: the email was refused, so it and analytics did not
// happen; social and blog (its parallel siblings) did and were compensated.
constexpr long long kEffectsPerFailedInDistribution = 13;
// Waiting at review: research 3, content 3, design 3, review 2.
constexpr long long kEffectsPerParked = 11;
// Failed in distribution: drafts, three renders, social and blog undone.
constexpr long long kCompensationsPerFailedInDistribution = 6;
constexpr int kLongPollMs = 30'000;
constexpr std::chrono::seconds kStartupTimeout{60};
constexpr const char* kReviewer = "bench-reviewer";
constexpr const char* kServices[] = {"notion", "tool_service", "memory_gateway", "slm",
                                     "figma",  "github",       "github_pages",   "slack",
                                     "sendgrid", "buffer",     "grafana",        "messaging"};

struct BenchOptions {
  int workflows = 1000;
  int concurrency = 50;
  int parked = 0;
  double fail_rate = 0.0;
  // The share of campaigns, chosen by workflow id, whose email SendGrid
  // refuses with a 500 on every attempt (their input is bad, SendGrid is
  // fine for everybody else): they must fail and compensate, the others
  // complete, whatever the breaker makes of it.
  double poison_rate = 0.0;
  int deadline_seconds = 0;  // > 0: campaigns not ended by then are errors
  int latency_ms = 0;
  bool park_only = false;  // --parked without approving them afterwards
  bool outbound_io_thread = false;  // the server's outbound HTTP on its own thread
  // The sandbox over HTTPS with a certificate from a CA made for the run;
  // the orchestrator trusts that CA (ca_file) and verifies every call.
  bool tls = false;
  bool keep = false;
};

// ------------------------------------------------------------ processes

// For profiling: ORCH_BENCH_WRAP_SERVE="/usr/bin/valgrind --tool=callgrind"
// runs the orchestrator under that command (words split on spaces, the first
// an absolute path), so its instructions can be counted under the real load;
// ORCH_BENCH_WRAP_SANDBOX does the same for the sandbox. /proc/self/exe
// cannot be used then: inside a wrapper it names the wrapper.
pid_t spawn_wrapped(const char* wrap_variable, const std::vector<std::string>& argv,
                    const fs::path& log) {
  const char* wrap = std::getenv(wrap_variable);
  if (!wrap || !*wrap) return spawn(argv, log);
  std::vector<std::string> full;
  std::string word;
  for (const char* c = wrap;; ++c) {
    if (*c == ' ' || *c == '\0') {
      if (!word.empty()) full.push_back(std::move(word));
      word.clear();
      if (!*c) break;
    } else {
      word += *c;
    }
  }
  full.insert(full.end(), argv.begin(), argv.end());
  return spawn_child(full.front(), full, log, /*die_with_parent=*/true);
}

// ------------------------------------------------------------ metrics

struct JournalFigures {
  double records = 0;
  double commits = 0;  // one fsync each
  double appends = 0;  // group-commit batch sizes summed
  double commit_seconds = 0;  // time in group commits, summed
};

JournalFigures journal_figures(const std::string& metrics_text) {
  return {metric(metrics_text, "journal_records_total"),
          metric(metrics_text, "journal_append_seconds_count"),
          metric(metrics_text, "journal_group_commit_batch_size_sum"),
          metric(metrics_text, "journal_append_seconds_sum")};
}

// ------------------------------------------------------------ the client

enum class DriveMode {
  to_end,   // start, approve at review, follow to the end
  park,     // start and stop at review (the id is kept)
  resume,   // approve an already parked campaign and follow it to the end
};

// Drives campaigns over the REST API from one io_context thread. Every
// campaign is a lane's chain of asynchronous calls; at most `concurrency`
// lanes run at once.
class Driver {
 public:
  struct Result {
    int completed = 0;
    int failed = 0;     // ended failed (expected with --fail-rate)
    int cancelled = 0;
    int parked = 0;
    int errors = 0;     // transport errors or unexpected answers
    int mismatched = 0; // poisoned and completed, or healthy and failed
    int unfinished = 0; // not ended by the deadline
    std::vector<double> latencies_ms;
    std::vector<std::string> parked_ids;
    double seconds = 0;
  };

  Driver(std::string base, DriveMode mode, int total, int concurrency, std::string tag,
         std::vector<std::string> ids = {})
      : base_(std::move(base)),
        mode_(mode),
        total_(total),
        concurrency_(concurrency),
        tag_(std::move(tag)),
        ids_(std::move(ids)),
        // The API is on this machine: no proxy from the environment.
        client_(io_, http::HttpClient::PoolLimits{1 << 16}, http::ProxyEnvironment{}) {}

  // Campaign i gets the workflow id poisoned_id(tag, i) (so a fault can name
  // it), and those `poisoned` picks must fail while the others complete.
  void choose(double poison_rate) { poison_rate_ = poison_rate; }
  static bool poisoned(int i, double rate) {
    return rate > 0 && static_cast<long long>((i + 1) * rate) > static_cast<long long>(i * rate);
  }
  static std::string campaign_id(const std::string& tag, int i) {
    return "bench-" + tag + "-" + std::to_string(i);
  }
  void stop_after(std::chrono::seconds deadline) { deadline_ = deadline; }

  Result run() {
    const auto t0 = Clock::now();
    net::steady_timer deadline(io_);
    if (deadline_.count() > 0) {
      deadline.expires_after(deadline_);
      deadline.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        result_.unfinished = total_ - ended_;
        io_.stop();
      });
    }
    for (int c = 0; c < std::min(concurrency_, total_); ++c) next();
    io_.run();
    result_.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return std::move(result_);
  }

 private:
  struct Lane {
    std::string id;
    Clock::time_point started;
    bool poisoned = false;
  };
  using LanePtr = std::shared_ptr<Lane>;
  using Then = std::function<void(int status, json body)>;

  void next() {
    if (next_ >= total_) {
      if (ended_ == total_ && deadline_.count() > 0) io_.stop();  // the deadline's timer
      return;
    }
    const int i = next_++;
    auto lane = std::make_shared<Lane>();
    lane->started = Clock::now();
    if (mode_ == DriveMode::resume) {
      lane->id = ids_[static_cast<std::size_t>(i)];
      return approve(lane);
    }
    json input = phases::sample_campaign_input("bench " + tag_ + " " + std::to_string(i),
                                               {kReviewer});
    if (poison_rate_ > 0) {
      input["workflow_id"] = campaign_id(tag_, i);
      lane->poisoned = poisoned(i, poison_rate_);
    }
    send("POST", "/v1/campaigns", input.dump(), "bench-" + tag_ + "-" + std::to_string(i),
         [this, lane](int status, json body) {
           if (status != 201 && status != 200) return error(lane);
           lane->id = body.value("workflow_id", "");
           wait_for_review(lane);
         });
  }

  void wait_for_review(const LanePtr& lane) {
    send("GET",
         "/v1/workflows/" + lane->id +
             "/progress?wait_for=awaiting_approval,completed,failed,cancelled,paused&wait_ms=" +
             std::to_string(kLongPollMs),
         "", "", [this, lane](int status, json body) {
           if (status != 200) return error(lane);
           const std::string s = body.value("status", "");
           if (s == "awaiting_approval") {
             if (mode_ == DriveMode::park) {
               ++result_.parked;
               result_.parked_ids.push_back(lane->id);
               return next();
             }
             return approve(lane);
           }
           if (ended(s)) return finish(lane, s);
           wait_for_review(lane);  // the long poll timed out
         });
  }

  void approve(const LanePtr& lane) {
    const json body = {{"reviewer", kReviewer}, {"comment", "approved by the benchmark"}};
    send("POST", "/v1/workflows/" + lane->id + "/signals/approve", body.dump(),
         "bench-approve-" + lane->id, [this, lane](int status, json) {
           if (status != 202) return error(lane);
           wait_for_end(lane);
         });
  }

  void wait_for_end(const LanePtr& lane) {
    send("GET",
         "/v1/workflows/" + lane->id +
             "/progress?wait_for=completed,failed,cancelled,paused&wait_ms=" +
             std::to_string(kLongPollMs),
         "", "", [this, lane](int status, json body) {
           if (status != 200) return error(lane);
           const std::string s = body.value("status", "");
           if (ended(s)) return finish(lane, s);
           wait_for_end(lane);
         });
  }

  static bool ended(const std::string& s) {
    return s == "completed" || s == "failed" || s == "cancelled" || s == "paused";
  }

  void finish(const LanePtr& lane, const std::string& status) {
    result_.latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - lane->started).count());
    if (status == "completed") ++result_.completed;
    else if (status == "failed") ++result_.failed;
    else if (status == "cancelled") ++result_.cancelled;
    else ++result_.errors;  // paused: the benchmark configures no pausing
    if (poison_rate_ > 0 && (status == "failed") != lane->poisoned) ++result_.mismatched;
    ++ended_;
    next();
  }

  void error(const LanePtr&) {
    ++result_.errors;
    ++ended_;
    next();
  }

  void send(const char* method, std::string target, std::string body,
            const std::string& idempotency_key, Then then) {
    http::Request req;
    req.method = method;
    req.target = std::move(target);
    req.body = std::move(body);
    if (!idempotency_key.empty()) req.headers.emplace_back("Idempotency-Key", idempotency_key);
    http::CallOptions options;
    options.timeout = std::chrono::milliseconds(kLongPollMs + 30'000);
    client_.send(base_, req, options, [then = std::move(then)](http::CallResult r) {
      if (!r.ok()) return then(0, nullptr);
      json body;
      parse_json(r.response.body, body);  // discarded when not JSON
      then(r.response.status, std::move(body));
    });
  }

  const std::string base_;
  const DriveMode mode_;
  const int total_;
  const int concurrency_;
  const std::string tag_;
  const std::vector<std::string> ids_;
  net::io_context io_{1};
  http::HttpClient client_;
  double poison_rate_ = 0;
  std::chrono::seconds deadline_{0};
  int next_ = 0;
  int ended_ = 0;
  Result result_;
};

// ------------------------------------------------------------ the bench

bool parse_int(const std::string& s, int min, int* out) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
    return false;
  *out = std::stoi(s);
  return *out >= min;
}

bool parse_rate(const std::string& s, double* out) {
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return !s.empty() && end && *end == '\0' && *out >= 0.0 && *out <= 1.0;
}

class Bench {
 public:
  explicit Bench(BenchOptions o) : o_(o) {}
  ~Bench() {
    stop_process(orchestrator_);
    stop_process(sandbox_);
    if (!o_.keep && !dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  int run() {
    exe_ = self_exe();
    if (exe_.empty()) return fail("cannot find this executable (/proc/self/exe)");
    dir_ = fs::temp_directory_path() / ("orchestrator-bench-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const std::string sandbox_listen = "127.0.0.1:" + std::to_string(free_loopback_port());
    sandbox_url_ = (o_.tls ? "https://" : "http://") + sandbox_listen;
    api_url_ = "http://127.0.0.1:" + std::to_string(free_loopback_port());
    std::vector<std::string> sandbox_args = {
        exe_, "sandbox", "--listen", sandbox_listen, "--latency", std::to_string(o_.latency_ms)};
    if (o_.tls) {
      if (std::string e = make_certificates(); !e.empty()) return fail(e);
      sandbox_args.insert(sandbox_args.end(), {"--tls-cert", (dir_ / "sandbox.crt").string(),
                                               "--tls-key", (dir_ / "sandbox.key").string()});
    }
    http_ = std::make_unique<http::BlockingHttp>(trust_ ? trust_ : http::direct_connection());
    write_config();
    sandbox_ = spawn_wrapped("ORCH_BENCH_WRAP_SANDBOX", sandbox_args, dir_ / "sandbox.log");
    if (!wait_ready(sandbox_url_, "/health", sandbox_)) return fail("the sandbox did not start");
    if (o_.fail_rate > 0 && !inject_failures()) return fail("cannot inject the failures");
    if (o_.poison_rate > 0 && !inject_poison()) return fail("cannot inject the poison");
    start_orchestrator();
    if (!wait_ready(api_url_, "/ready", orchestrator_))
      return fail("the orchestrator did not start");
    const ProcessSample empty = sample_process(orchestrator_);

    // The main run: N campaigns, each to its end.
    const JournalFigures journal0 = journal_figures(get(api_url_, "/metrics"));
    const ProcessSample sandbox_before = sample_process(sandbox_);
    const ProcessSample client_before = sample_process(::getpid());
    const ProcessSample before = sample_process(orchestrator_);
    Driver::Result main;
    if (o_.workflows > 0) {
      Driver driver(api_url_, DriveMode::to_end, o_.workflows, o_.concurrency, "run");
      driver.choose(o_.poison_rate);
      driver.stop_after(std::chrono::seconds(o_.deadline_seconds));
      main = driver.run();
    }
    const ProcessSample after = sample_process(orchestrator_);
    sandbox_cpu_ = sample_process(sandbox_).cpu_seconds - sandbox_before.cpu_seconds;
    client_cpu_ = sample_process(::getpid()).cpu_seconds - client_before.cpu_seconds;
    const JournalFigures journal1 = journal_figures(get(api_url_, "/metrics"));

    json parked_report = nullptr;
    Driver::Result resumed;
    if (o_.parked > 0) {
      if (std::string e = run_parked(empty, &parked_report, &resumed); !e.empty()) return fail(e);
    }

    const json ledger = json::parse(get(sandbox_url_, "/sandbox/ledger"), nullptr, false);
    return report(main, resumed, empty, before, after, journal0, journal1, ledger,
                  std::move(parked_report));
  }

 private:
  // A CA for this run and the sandbox's certificate from it, in dir_.
  std::string make_certificates() {
    try {
      const sandbox::ThrowawayCa ca("orchestrator bench CA");
      if (std::string e = ca.write_certificate(dir_ / "ca.crt"); !e.empty()) return e;
      if (std::string e = ca.issue_server().write(dir_, "sandbox"); !e.empty()) return e;
    } catch (const std::exception& e) {
      return e.what();
    }
    auto trust = std::make_shared<http::ConnectionSettings>(*http::direct_connection());
    trust->ca_file = (dir_ / "ca.crt").string();
    trust_ = std::move(trust);
    return "";
  }

  int fail(const std::string& why) {
    std::fprintf(stderr, "bench: %s (logs in %s)\n", why.c_str(), dir_.c_str());
    o_.keep = true;
    return 1;
  }

  void write_config() {
    json services = json::object();
    for (const char* s : kServices) {
      // Unbounded in-flight calls: with --latency and a large C, the default
      // bulkhead (64 per service) would make steps wait for it, not for the
      // service.
      // The sandbox is on this machine: never through a proxy.
      json settings = {{"max_concurrent", "1000000"}, {"proxy", ""}};
      if (trust_) settings["ca_file"] = trust_->ca_file;
      services[s] = {{"url", sandbox_url_},
                     {"token", std::string("bench-") + s + "-token"},
                     {"settings", std::move(settings)}};
    }
    // A throwaway server on loopback, like the demo's: no API tokens.
    json config = {{"services", services},
                   {"auth", {{"enabled", false}}},
                   {"log_level", "warn"},
                   {"retry_initial_interval_ms", 50},
                   {"outbound_io_thread", o_.outbound_io_thread}};
    std::ofstream(dir_ / "config.json") << config.dump(2);
  }

  void start_orchestrator() {
    orchestrator_ = spawn_wrapped("ORCH_BENCH_WRAP_SERVE",
                                  {exe_, "serve", "--no-auth", "--listen", api_url_.substr(7),
                                   "--store", "sqlite:" + (dir_ / "orchestrator.db").string(),
                                   "--config", (dir_ / "config.json").string()},
                                  dir_ / "orchestrator.log");
  }

  bool inject_failures() {
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

  bool inject_poison() {
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

  bool wait_ready(const std::string& url, const std::string& path, pid_t& child) {
    const auto deadline = Clock::now() + kStartupTimeout;
    while (Clock::now() < deadline) {
      int status = 0;
      if (::waitpid(child, &status, WNOHANG) == child) {
        std::fprintf(stderr, "bench: process %d ended (%s %d) before it was ready\n", child,
                     WIFSIGNALED(status) ? "signal" : "exit code",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        child = -1;  // reaped
        return false;
      }
      auto r = http_->call(url, "GET", path, "", {}, std::chrono::milliseconds(1000));
      if (r.ok() && r.response.status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

  std::string get(const std::string& url, const std::string& path) {
    auto r = http_->call(url, "GET", path, "", {}, std::chrono::seconds(60));
    return r.ok() ? r.response.body : std::string();
  }

  // Parks M campaigns at review, measures memory, restarts the orchestrator
  // (SIGTERM, then a new process on the same store), times its recovery to
  // ready, then approves every parked campaign and follows it to its end.
  std::string run_parked(const ProcessSample& empty, json* out, Driver::Result* resumed) {
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

  int report(const Driver::Result& r, const Driver::Result& resumed, const ProcessSample& empty,
             const ProcessSample& before, const ProcessSample& after, const JournalFigures& j0,
             const JournalFigures& j1, const json& ledger, json parked) {
    const ProcessSample last = sample_process(orchestrator_);
    const auto& lat = r.latencies_ms;
    const double seconds = r.seconds > 0 ? r.seconds : 1e-9;
    const int n = std::max(1, o_.workflows);
    const double records = j1.records - j0.records;
    const double commits = j1.commits - j0.commits;
    const double appends = j1.appends - j0.appends;
    const long long side_effects = ledger.is_object() ? ledger.value("side_effects", 0LL) : -1;
    const long long duplicates = ledger.is_object() ? ledger.value("replays", 0LL) : -1;
    const long long compensations = ledger.is_object() ? ledger.value("compensations", 0LL) : -1;
    const long long completed = r.completed + resumed.completed;
    const long long failed = r.failed + resumed.failed;
    const long long still_parked = o_.park_only ? o_.parked : 0;
    const long long expected = kEffectsPerCompleted * completed +
                               kEffectsPerFailedInDistribution * failed +
                               kEffectsPerParked * still_parked;
    const int errors = r.errors + resumed.errors + r.cancelled + resumed.cancelled;
    // Poisoned campaigns: each failed and undid its completed steps; no
    // healthy one failed, none was left unfinished at the deadline.
    const bool poison_ok =
        o_.poison_rate == 0 ||
        (r.mismatched == 0 && compensations == kCompensationsPerFailedInDistribution * failed);
    const bool correct = errors == 0 && duplicates == 0 && side_effects == expected &&
                         r.unfinished == 0 && poison_ok &&
                         completed + failed + still_parked ==
                             static_cast<long long>(o_.workflows) + o_.parked &&
                         (o_.fail_rate > 0 || o_.poison_rate > 0 || failed == 0);
    json result = {
        {"workflows", o_.workflows},
        {"concurrency", o_.concurrency},
        {"sandbox_latency_ms", o_.latency_ms},
        {"sandbox_tls", o_.tls},
        {"fail_rate", o_.fail_rate},
        {"poison_rate", o_.poison_rate},
        {"mismatched", r.mismatched},
        {"unfinished", r.unfinished},
        {"completed", r.completed},
        {"failed", r.failed},
        {"errors", errors},
        {"seconds", r.seconds},
        {"campaigns_per_second", static_cast<double>(o_.workflows) / seconds},
        {"latency_ms",
         {{"p50", percentile(lat, 0.50)},
          {"p95", percentile(lat, 0.95)},
          {"p99", percentile(lat, 0.99)},
          {"max", lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end())}}},
        {"journal",
         {{"records_per_second", records / seconds},
          {"fsyncs_per_second", commits / seconds},
          {"mean_batch_appends", commits > 0 ? appends / commits : 0.0},
          {"mean_batch_records", commits > 0 ? records / commits : 0.0},
          {"mean_commit_ms",
           commits > 0 ? 1000 * (j1.commit_seconds - j0.commit_seconds) / commits : 0.0}}},
        {"orchestrator_cpu_seconds_per_campaign", (after.cpu_seconds - before.cpu_seconds) / n},
        {"orchestrator_cpu_utilisation", (after.cpu_seconds - before.cpu_seconds) / seconds},
        {"sandbox_cpu_seconds_per_campaign", sandbox_cpu_ / n},
        {"client_cpu_seconds_per_campaign", client_cpu_ / n},
        {"orchestrator_rss_empty_bytes", empty.rss_bytes},
        {"side_effects", side_effects},
        {"expected_side_effects", expected},
        {"duplicates", duplicates},
        {"compensations", compensations},
        {"peak_rss_bytes", last.peak_rss_bytes},
        {"correct", correct},
        {"mode",
         "separate processes: orchestrator serve (SQLite, fsync on), sandbox, this client"}};
    if (!parked.is_null()) result["parked"] = std::move(parked);

    std::printf(
        "campaigns            %d (concurrency %d, sandbox latency %d ms, fail rate %.2f%s)\n",
        o_.workflows, o_.concurrency, o_.latency_ms, o_.fail_rate,
        o_.tls ? ", sandbox over HTTPS" : "");
    if (o_.workflows > 0) {
      std::printf("campaigns/s          %.1f  (%.2f s; %d completed, %d failed)\n",
                  result["campaigns_per_second"].get<double>(), r.seconds, r.completed, r.failed);
      std::printf("latency ms           p50 %.1f  p95 %.1f  p99 %.1f  max %.1f\n",
                  result["latency_ms"]["p50"].get<double>(),
                  result["latency_ms"]["p95"].get<double>(),
                  result["latency_ms"]["p99"].get<double>(),
                  result["latency_ms"]["max"].get<double>());
      std::printf("journal              %.0f records/s, %.0f fsyncs/s, %.1f appends (%.1f records) "
                  "per group commit of %.2f ms\n",
                  records / seconds, commits / seconds, commits > 0 ? appends / commits : 0.0,
                  commits > 0 ? records / commits : 0.0,
                  result["journal"]["mean_commit_ms"].get<double>());
      std::printf("orchestrator cpu     %.3f ms per campaign (%.0f %% of one core)\n",
                  1000 * (after.cpu_seconds - before.cpu_seconds) / n,
                  100 * (after.cpu_seconds - before.cpu_seconds) / seconds);
      std::printf("sandbox, client cpu  %.3f, %.3f ms per campaign\n", 1000 * sandbox_cpu_ / n,
                  1000 * client_cpu_ / n);
    }
    std::printf("orchestrator RSS     peak %.1f MiB (empty server %.1f MiB)\n",
                static_cast<double>(last.peak_rss_bytes) / (1 << 20),
                static_cast<double>(empty.rss_bytes) / (1 << 20));
    if (result.contains("parked")) {
      const json& p = result["parked"];
      std::printf("parked               %d at review in %.2f s: %.0f bytes RSS each (live, "
                  "%lld in memory %.1f s later), %.0f bytes each after restart\n",
                  o_.parked, p["park_seconds"].get<double>(),
                  p["rss_per_parked_bytes"].get<double>(),
                  p["resident_when_sampled"].get<long long>(), p["settle_seconds"].get<double>(),
                  p["rss_recovered_per_parked_bytes"].get<double>());
      std::printf("restart and recover  %.3f s to ready; resumed and finished in %.2f s\n",
                  p["recover_seconds"].get<double>(), p["resume_seconds"].get<double>());
    }
    std::printf("side effects         %lld of %lld expected, %lld duplicates, %lld compensations, "
                "%d errors\n",
                side_effects, expected, duplicates, compensations, errors);
    if (o_.poison_rate > 0 || r.unfinished > 0)
      std::printf("poisoned             %d ended otherwise than their input implies, %d not ended "
                  "by the deadline\n",
                  r.mismatched, r.unfinished);
    std::printf("%s\n", result.dump().c_str());
    std::fflush(stdout);
    return correct ? 0 : 1;
  }

  BenchOptions o_;
  std::string exe_;
  fs::path dir_;
  std::string sandbox_url_;
  // --tls: the run's CA (and no proxy); null otherwise.
  std::shared_ptr<const http::ConnectionSettings> trust_;
  std::string api_url_;
  double sandbox_cpu_ = 0;
  double client_cpu_ = 0;
  pid_t sandbox_ = -1;
  pid_t orchestrator_ = -1;
  std::unique_ptr<http::BlockingHttp> http_;
};

int bench_usage() {
  std::fprintf(stderr,
               "usage: orchestrator bench --workflows N --concurrency C [--parked M] "
               "[--park-only] [--fail-rate R] [--poison-rate R] [--deadline SECONDS] "
               "[--latency MS] [--outbound-io-thread] [--tls] [--keep]\n"
               "       orchestrator bench --reservations N --users U [--concurrency C] "
               "[--idle-users M] [--keep]\n");
  return 2;
}

}  // namespace

int run_bench(const std::vector<std::string>& args) {
  BenchOptions o;
  ReservationBenchOptions users;
  bool reservations = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const bool has = i + 1 < args.size();
    bool ok = has;
    if (args[i] == "--reservations" && has) {
      ok = parse_int(args[++i], 1, &users.reservations);
      reservations = true;
    } else if (args[i] == "--users" && has) ok = parse_int(args[++i], 1, &users.users);
    else if (args[i] == "--idle-users" && has) ok = parse_int(args[++i], 0, &users.idle_users);
    else if (args[i] == "--workflows" && has) ok = parse_int(args[++i], 0, &o.workflows);
    else if (args[i] == "--concurrency" && has) ok = parse_int(args[++i], 1, &o.concurrency);
    else if (args[i] == "--parked" && has) ok = parse_int(args[++i], 0, &o.parked);
    else if (args[i] == "--fail-rate" && has) ok = parse_rate(args[++i], &o.fail_rate);
    else if (args[i] == "--poison-rate" && has) ok = parse_rate(args[++i], &o.poison_rate);
    else if (args[i] == "--deadline" && has) ok = parse_int(args[++i], 1, &o.deadline_seconds);
    else if (args[i] == "--latency" && has) ok = parse_int(args[++i], 0, &o.latency_ms);
    else if (args[i] == "--keep") ok = (o.keep = true);
    else if (args[i] == "--park-only") ok = (o.park_only = true);
    else if (args[i] == "--outbound-io-thread") ok = (o.outbound_io_thread = true);
    else if (args[i] == "--tls") ok = (o.tls = true);
    else ok = false;
    if (!ok) return bench_usage();
  }
  if (reservations) {
    if (std::find(args.begin(), args.end(), "--concurrency") != args.end())
      users.concurrency = o.concurrency;
    users.keep = o.keep;
    return run_reservation_bench(users);
  }
  if (o.workflows == 0 && o.parked == 0) return bench_usage();
  Bench bench(o);
  return bench.run();
}

}  // namespace orch::api
