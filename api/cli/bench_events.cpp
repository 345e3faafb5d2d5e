// `orchestrator bench --events N` (bench_events.h): the child processes, the
// set-up, the four runs and the report.
#include "api/cli/bench_events.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "adapters/http/blocking_http.h"
#include "api/cli/bench_event_load.h"
#include "api/cli/bench_processes.h"
#include "api/cli/bench_route_probe.h"
#include "api/cli/child_process.h"
#include "engine/time/time_format.h"

namespace orch::api {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using events_bench::EventSender;
using events_bench::RouteProbe;
using events_bench::SendTotals;
using events_bench::Workload;

namespace {

constexpr int kImportBatch = 10'000;
constexpr int kConnections = 8;         // POSTs in flight in the throughput runs
constexpr int kSampleEvery = 25;        // events read back for their latency
constexpr int kPauseLatencyMs = 1'000;  // the rewards service while the backlog loads
constexpr std::chrono::seconds kStallTimeout{60};  // no credit paid for this long: stuck
constexpr const char* kServices[] = {
    "notion", "tool_service", "memory_gateway", "slm",     "figma",     "github", "github_pages",
    "slack",  "sendgrid",     "buffer",         "grafana", "messaging", "rewards"};

// The targets: reported against, never enforced.
constexpr double kTargetAcceptedPerSecond = 50'000;
constexpr double kTargetActedPerSecond = 10'000;
constexpr double kTargetLatencyP99Ms = 100;
constexpr double kTargetOtherRoutesP99Ms = 50;

// Each thread's times between two samples, busiest first.
json thread_time_delta(const std::vector<ThreadTime>& before, const std::vector<ThreadTime>& after,
                       double wall_seconds) {
  std::vector<ThreadTime> delta;
  for (const ThreadTime& a : after) {
    ThreadTime d = a;
    for (const ThreadTime& b : before)
      if (b.tid == a.tid) {
        d.cpu_seconds -= b.cpu_seconds;
        d.runqueue_seconds -= b.runqueue_seconds;
      }
    if (d.cpu_seconds > 0.005) delta.push_back(d);
  }
  std::sort(delta.begin(), delta.end(),
            [](const ThreadTime& x, const ThreadTime& y) { return x.cpu_seconds > y.cpu_seconds; });
  json out = json::array();
  for (const ThreadTime& d : delta)
    out.push_back({{"tid", d.tid},
                   {"cpu_seconds", d.cpu_seconds},
                   {"runqueue_seconds", d.runqueue_seconds},
                   {"busy_share", (d.cpu_seconds + d.runqueue_seconds) / wall_seconds}});
  return out;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class EventBench {
 public:
  explicit EventBench(EventBenchOptions o) : o_(o), workload_(o.customers) {}
  ~EventBench() {
    stop_process(server_);
    stop_process(sandbox_);
    if (!o_.keep && !dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  int run() {
    dir_ = fs::temp_directory_path() / ("orch-bench-events-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    if (!start()) return fail("the servers did not start");
    const auto import_start = Clock::now();
    if (!import_customers()) return fail("the customers could not be imported");
    out_["customers_import_seconds"] = seconds_since(import_start);
    if (!create_triggers()) return fail("the triggers could not be created");
    out_["load_average_at_start"] = load_average();

    // Each run needs the one before it right: it counts on the credits paid.
    if (run_throughput() && (o_.rate == 0 || o_.rate_seconds == 0 || run_latency()) &&
        o_.backlog > 0)
      run_backlog();
    return finish();
  }

 private:
  struct Credits {
    long long count = -1;
    long long replays = 0;
  };

  // --- the child processes and the set-up ------------------------------------

  bool start() {
    const std::string exe = self_exe();
    const std::string sandbox = "127.0.0.1:" + std::to_string(free_loopback_port());
    api_url_ = "http://127.0.0.1:" + std::to_string(free_loopback_port());
    sandbox_url_ = "http://" + sandbox;
    sandbox_ =
        spawn({exe, "sandbox", "--listen", sandbox, "--latency", std::to_string(o_.latency_ms)},
              dir_ / "sandbox.log");
    json services = json::object();
    for (const char* s : kServices)
      services[s] = {
          {"url", sandbox_url_}, {"token", "bench-token"}, {"settings", {{"proxy", ""}}}};
    // The actions' calls in flight must fit in the rewards bulkhead.
    services["rewards"]["settings"]["max_concurrent"] = std::to_string(2 * o_.action_concurrency);
    std::ofstream(dir_ / "config.json") << json{
        {"log_level", "warn"},
        {"services", services},
        {"trigger_action_concurrency",
         o_.action_concurrency}}.dump();
    server_ = spawn(
        {exe, "serve", "--no-auth", "--listen", api_url_.substr(7), "--store",
         "sqlite:" + (dir_ / "events.db").string(), "--config", (dir_ / "config.json").string()},
        dir_ / "orchestrator.log");
    return wait_healthy(http_, sandbox_url_) && wait_healthy(http_, api_url_);
  }

  bool import_customers() {
    for (int first = 0; first < o_.customers; first += kImportBatch) {
      json batch = json::array();
      for (int i = first; i < std::min(o_.customers, first + kImportBatch); ++i) {
        const std::string n = std::to_string(i);
        batch.push_back(
            {{"id", workload_.customer_id(i)},
             {"phone", "+2547" + std::string(8 - std::min<std::size_t>(8, n.size()), '0') + n}});
      }
      auto [status, body] = call(api_url_, "POST", "/v1/customers", batch.dump());
      if (status != 200 || body.value("refused", 1) != 0) {
        std::fprintf(stderr, "import: %d %s\n", status, body.dump().substr(0, 300).c_str());
        return false;
      }
    }
    return true;
  }

  bool create_triggers() {
    for (const json& t : workload_.triggers()) {
      auto [status, body] = call(api_url_, "POST", "/v1/triggers", t.dump());
      if (status != 201) {
        std::fprintf(stderr, "trigger: %d %s\n", status, body.dump().substr(0, 300).c_str());
        return false;
      }
      trigger_ids_.push_back(body.value("id", ""));
    }
    return true;
  }

  // --- the runs -------------------------------------------------------------

  // 1 and 2: N events as fast as the API takes them, then until every
  // credit is paid.
  bool run_throughput() {
    std::fprintf(stderr, "events bench: %d events as fast as accepted...\n", o_.events);
    const long long matches = expect(o_.events);
    const auto server0 = sample_process(server_);
    const auto threads0 = thread_times(server_);
    const auto sandbox0 = sample_process(sandbox_);
    const auto client0 = sample_process(::getpid());
    const auto t0 = Clock::now();
    EventSender sender(api_url_, workload_, o_.batch);
    const SendTotals sent = sender.burst("a", 0, o_.events, kConnections);
    const double accept_seconds = seconds_since(t0);
    if (!check_sent("throughput", sent, o_.events)) return false;
    const double paid_seconds = wait_paid(t0);
    if (paid_seconds < 0) return false;
    const auto server1 = sample_process(server_);
    const auto threads1 = thread_times(server_);
    const auto sandbox1 = sample_process(sandbox_);
    const auto client1 = sample_process(::getpid());
    const double n = o_.events;
    out_["accept"] = {{"events", o_.events},
                      {"seconds", accept_seconds},
                      {"events_per_second", n / accept_seconds},
                      {"request_p50_ms", percentile(sent.request_ms, 0.5)},
                      {"request_p99_ms", percentile(sent.request_ms, 0.99)}};
    out_["end_to_end"] = {{"seconds", paid_seconds},
                          {"events_per_second", n / paid_seconds},
                          {"actions", matches},
                          {"actions_per_second", static_cast<double>(matches) / paid_seconds}};
    out_["cpu"] = {
        {"server_us_per_event", (server1.cpu_seconds - server0.cpu_seconds) * 1e6 / n},
        {"server_utilisation", (server1.cpu_seconds - server0.cpu_seconds) / paid_seconds},
        {"server_threads", thread_time_delta(threads0, threads1, paid_seconds)},
        {"sandbox_us_per_event", (sandbox1.cpu_seconds - sandbox0.cpu_seconds) * 1e6 / n},
        {"client_us_per_event", (client1.cpu_seconds - client0.cpu_seconds) * 1e6 / n}};
    out_["store_bytes_per_event"] = static_cast<double>(store_bytes()) / n;
    return true;
  }

  // 3: R events/s for S seconds, then every kSampleEvery-th event read back.
  bool run_latency() {
    const long long count = static_cast<long long>(o_.rate) * o_.rate_seconds;
    std::fprintf(stderr, "events bench: %lld events at %d/s...\n", count, o_.rate);
    expect(count);
    const auto t0 = Clock::now();
    EventSender sender(api_url_, workload_, o_.batch);
    const SendTotals sent = sender.paced("r", 0, count, o_.rate);
    if (!check_sent("latency", sent, count)) return false;
    if (wait_paid(t0) < 0) return false;
    std::vector<double> latency;
    int samples = 0;
    for (long long i = 0; i < count; i += kSampleEvery) {
      ++samples;
      auto [status, view] =
          call(api_url_, "GET",
               "/v1/events/" + Workload::event_id("r", i) + "?source=" + events_bench::kSource, "");
      const json matches = view.is_object() ? view.value("matches", json::array()) : json::array();
      if (status != 200 || view.value("status", "") != "processed" ||
          static_cast<int>(matches.size()) != workload_.matches(i)) {
        return wrong("event " + Workload::event_id("r", i) + ": " + view.dump().substr(0, 400));
      }
      const auto accepted = engine::parse_time(view.value("accepted_at", ""));
      for (const json& m : matches) {
        const json attempts = m.value("attempts", json::array());
        const auto done =
            attempts.empty() ? std::nullopt : engine::parse_time(attempts.back().value("at", ""));
        if (m.value("status", "") != "done" || !accepted || !done)
          return wrong("match of " + Workload::event_id("r", i) + ": " + m.dump().substr(0, 400));
        latency.push_back(static_cast<double>(*done - *accepted));
      }
    }
    out_["rate"] = {
        {"events_per_second_asked", o_.rate},
        {"events", count},
        {"events_per_second_sent", static_cast<double>(count) / sent.seconds},
        {"late_batches", sent.late},
        {"request_p50_ms", percentile(sent.request_ms, 0.5)},
        {"request_p99_ms", percentile(sent.request_ms, 0.99)},
        {"sampled_events", samples},
        {"sampled_actions", latency.size()},
        {"acceptance_to_action_ms",
         {{"p50", percentile(latency, 0.5)},
          {"p99", percentile(latency, 0.99)},
          {"max", latency.empty() ? 0.0 : *std::max_element(latency.begin(), latency.end())}}}};
    return true;
  }

  // 4: M events loaded while the rewards service answers slowly, then
  // drained at full speed; the other routes read throughout.
  bool run_backlog() {
    std::fprintf(stderr, "events bench: a backlog of %d events...\n", o_.backlog);
    expect(o_.backlog);
    const json pause = {
        {"path_prefix", "/v1/credits"}, {"status", 0}, {"latency_ms", kPauseLatencyMs}};
    auto [fault_status, fault] = call(sandbox_url_, "POST", "/sandbox/faults", pause.dump());
    if (fault_status != 201) return wrong("cannot slow the rewards service: " + fault.dump());
    RouteProbe probe(api_url_,
                     {"/v1/triggers", "/v1/customers/" + workload_.customer_id(o_.customers / 2),
                      "/health", "/v1/triggers/" + trigger_ids_.front(), "/v1/event-queue"});
    probe.start();
    const auto threads0 = thread_times(server_);
    const auto t0 = Clock::now();
    EventSender sender(api_url_, workload_, o_.batch);
    const SendTotals sent = sender.burst("b", 0, o_.backlog, kConnections);
    const double load_seconds = seconds_since(t0);
    const json load_threads = thread_time_delta(threads0, thread_times(server_), load_seconds);
    if (!check_sent("backlog", sent, o_.backlog)) return false;
    const json queue = call(api_url_, "GET", "/v1/event-queue", "").second;
    const Credits before = credits();
    call(sandbox_url_, "DELETE", "/sandbox/faults/" + fault.value("id", ""), "");
    probe.set_phase(RouteProbe::kDraining);
    const auto drain0 = Clock::now();
    const double drain_seconds = wait_paid(drain0);
    probe.stop();
    if (drain_seconds < 0) return false;
    std::vector<double> load_ms, drain_ms;
    json routes = json::object();
    int probe_errors = 0;
    for (std::size_t r = 0; r < probe.targets().size(); ++r) {
      std::vector<double> one;
      for (const auto& s : probe.samples())
        if (s.route == static_cast<int>(r) && s.phase == RouteProbe::kDraining) one.push_back(s.ms);
      routes[probe.targets()[r]] = {
          {"p50_ms", percentile(one, 0.5)},
          {"p99_ms", percentile(one, 0.99)},
          {"max_ms", one.empty() ? 0.0 : *std::max_element(one.begin(), one.end())}};
    }
    for (const auto& s : probe.samples()) {
      (s.phase == RouteProbe::kDraining ? drain_ms : load_ms).push_back(s.ms);
      probe_errors += s.ok ? 0 : 1;
    }
    const long long remaining = expected_ - before.count;
    out_["backlog"] = {{"events", o_.backlog},
                       {"load_seconds", load_seconds},
                       {"accepted_per_second", o_.backlog / load_seconds},
                       {"load_request_p50_ms", percentile(sent.request_ms, 0.5)},
                       {"load_request_p99_ms", percentile(sent.request_ms, 0.99)},
                       {"load_server_threads", load_threads},
                       {"queue_at_drain_start", queue},
                       {"actions_at_drain_start", remaining},
                       {"drain_seconds", drain_seconds},
                       {"drain_actions_per_second", static_cast<double>(remaining) / drain_seconds},
                       {"other_routes_while_loading_p99_ms", percentile(load_ms, 0.99)},
                       {"other_routes_while_draining_p50_ms", percentile(drain_ms, 0.5)},
                       {"other_routes_while_draining_p99_ms", percentile(drain_ms, 0.99)},
                       {"other_routes_while_draining", routes},
                       {"probe_errors", probe_errors}};
    return true;
  }

  // --- checks ---------------------------------------------------------------

  // Adds the matches of events [0, count) of a run to the credits expected.
  // (An event's fields are a function of its index: every run's event i is
  // the same but for its id.)
  long long expect(long long count) {
    long long n = 0;
    for (long long i = 0; i < count; ++i) n += workload_.matches(i);
    expected_ += n;
    return n;
  }

  bool check_sent(const char* what, const SendTotals& s, long long count) {
    if (s.errors == 0 && s.accepted == count && s.duplicates == 0 && s.conflicts == 0) return true;
    return wrong(std::string(what) + ": " + std::to_string(s.accepted) + " of " +
                 std::to_string(count) + " accepted, " + std::to_string(s.duplicates) +
                 " duplicates, " + std::to_string(s.conflicts) + " conflicts, " +
                 std::to_string(s.errors) + " failed requests (first: " + s.first_error + ")");
  }

  // Seconds from `t0` until the sandbox counts every credit expected, then
  // waits for the queue to be empty; -1 (and the run marked wrong) if a
  // credit is paid twice, is missing once the queue is empty, or nothing
  // moves for kStallTimeout.
  double wait_paid(Clock::time_point t0) {
    Credits c = credits();
    auto progress = Clock::now();
    long long last = c.count;
    while (c.count < expected_) {
      if (c.count != last) {
        last = c.count;
        progress = Clock::now();
      }
      if (Clock::now() - progress > kStallTimeout) {
        const json q = json::parse(get(api_url_, "/v1/event-queue"), nullptr, false);
        return wrong_seconds("stalled at " + std::to_string(c.count) + " of " +
                             std::to_string(expected_) + " credits; queue " + q.dump());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      c = credits();
    }
    const double seconds = seconds_since(t0);
    const auto deadline = Clock::now() + kStallTimeout;
    json q;
    while (Clock::now() < deadline) {
      q = json::parse(get(api_url_, "/v1/event-queue"), nullptr, false);
      if (q.is_object() && q.value("events_pending", 1) == 0 &&
          q.value("actions_pending", 1) == 0 && q.value("actions_in_flight", 1) == 0)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    c = credits();
    credits_ = c;
    if (c.count != expected_ || !q.is_object() || q.value("events_pending", 1) != 0 ||
        q.value("actions_pending", 1) != 0 || q.value("events_parked", 1) != 0 ||
        q.value("dead_letters", 1) != 0)
      return wrong_seconds(std::to_string(c.count) + " credits paid for " +
                           std::to_string(expected_) + " matches; queue " + q.dump());
    return seconds;
  }

  // The SQLite store's files, in bytes.
  long long store_bytes() const {
    long long n = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_, ec))
      if (entry.path().filename().string().rfind("events.db", 0) == 0)
        n += static_cast<long long>(entry.file_size(ec));
    return n;
  }

  Credits credits() {
    const json s = json::parse(get(sandbox_url_, "/sandbox/credits?summary=true"), nullptr, false);
    if (!s.is_object()) return {};
    return {s.value("count", -1LL), s.value("replays", 0LL)};
  }

  bool wrong(const std::string& why) {
    std::fprintf(stderr, "events bench: WRONG: %s\n", why.c_str());
    if (wrong_.empty()) wrong_ = why;
    return false;
  }
  double wrong_seconds(const std::string& why) {
    wrong(why);
    return -1;
  }

  int fail(const std::string& why) {
    std::fprintf(stderr, "events bench: %s (logs in %s)\n", why.c_str(), dir_.c_str());
    o_.keep = true;
    return 1;
  }

  // --- the report -----------------------------------------------------------

  int finish() {
    const bool correct = wrong_.empty();
    if (!correct) o_.keep = true;
    const ProcessSample last = sample_process(server_);
    out_["mode"] = "events";
    out_["customers"] = o_.customers;
    out_["triggers"] = trigger_ids_.size();
    out_["batch"] = o_.batch;
    out_["connections"] = kConnections;
    out_["sandbox_latency_ms"] = o_.latency_ms;
    out_["trigger_action_concurrency"] = o_.action_concurrency;
    out_["credits"] = credits_.count;
    out_["expected_credits"] = expected_;
    out_["replays"] = credits_.replays;
    out_["peak_rss_bytes"] = last.peak_rss_bytes;
    out_["load_average_at_end"] = load_average();
    out_["correct"] = correct;
    if (!correct) out_["wrong"] = wrong_;
    out_["targets"] = targets();
    print_table();
    std::printf("%s\n", out_.dump().c_str());
    std::fflush(stdout);
    if (!correct) std::fprintf(stderr, "events bench: wrong results (logs in %s)\n", dir_.c_str());
    return correct ? 0 : 1;
  }

  // Each target the run measured: its figure and whether it was met.
  json targets() const {
    json t = json::object();
    auto add = [&](const char* name, const json& figure, double target, bool at_least) {
      if (figure.is_null()) return;
      const double v = figure.get<double>();
      t[name] = {{"target", target}, {"value", v}, {"met", at_least ? v >= target : v <= target}};
    };
    auto at = [&](std::initializer_list<const char*> path) {
      const json* j = &out_;
      for (const char* k : path) {
        if (!j->is_object() || !j->contains(k)) return json();
        j = &(*j)[k];
      }
      return *j;
    };
    add("accepted_per_second", at({"accept", "events_per_second"}), kTargetAcceptedPerSecond, true);
    add("acted_events_per_second", at({"end_to_end", "events_per_second"}), kTargetActedPerSecond,
        true);
    add("acceptance_to_action_p99_ms", at({"rate", "acceptance_to_action_ms", "p99"}),
        kTargetLatencyP99Ms, false);
    add("backlog_other_routes_p99_ms", at({"backlog", "other_routes_while_draining_p99_ms"}),
        kTargetOtherRoutesP99Ms, false);
    return t;
  }

  void print_table() const {
    std::printf(
        "events bench: %d customers, %zu reward triggers, batches of %d, sandbox latency "
        "%d ms, %d actions in flight\n",
        o_.customers, trigger_ids_.size(), o_.batch, o_.latency_ms, o_.action_concurrency);
    const auto d = [](const json& j, const char* k) { return j.value(k, 0.0); };
    if (out_.contains("accept")) {
      const json& a = out_["accept"];
      const json& e = out_["end_to_end"];
      const json& c = out_["cpu"];
      std::printf(
          "  accepted        %8.2f s  %10.0f events/s    (POST p50 %.1f ms, p99 %.1f ms; "
          "%d connections)\n",
          d(a, "seconds"), d(a, "events_per_second"), d(a, "request_p50_ms"),
          d(a, "request_p99_ms"), kConnections);
      std::printf("  acted, end to end %6.2f s  %10.0f events/s  %10.0f actions/s (%lld actions)\n",
                  d(e, "seconds"), d(e, "events_per_second"), d(e, "actions_per_second"),
                  e.value("actions", 0LL));
      std::printf(
          "  cpu             server %.1f us/event (%.0f %% of a core), sandbox %.1f, "
          "client %.1f\n",
          d(c, "server_us_per_event"), 100 * d(c, "server_utilisation"),
          d(c, "sandbox_us_per_event"), d(c, "client_us_per_event"));
      for (const json& t : c["server_threads"])
        std::printf(
            "  server thread   %d: %.2f s on a CPU, %.2f s waiting for one (%.0f %% of the "
            "time busy or runnable)\n",
            t.value("tid", 0), d(t, "cpu_seconds"), d(t, "runqueue_seconds"),
            100 * d(t, "busy_share"));
      std::printf("  store           %.0f bytes an event (SQLite files, customers included)\n",
                  out_.value("store_bytes_per_event", 0.0));
    }
    if (out_.contains("rate")) {
      const json& r = out_["rate"];
      const json& l = r["acceptance_to_action_ms"];
      std::printf("  at %d events/s  sent %.0f/s (%d late batches), POST p50 %.1f ms p99 %.1f ms\n",
                  o_.rate, d(r, "events_per_second_sent"), r.value("late_batches", 0),
                  d(r, "request_p50_ms"), d(r, "request_p99_ms"));
      std::printf(
          "  accepted->acted p50 %.0f ms  p99 %.0f ms  max %.0f ms  (%zu actions of %d "
          "sampled events)\n",
          d(l, "p50"), d(l, "p99"), d(l, "max"), r.value("sampled_actions", std::size_t{0}),
          r.value("sampled_events", 0));
    }
    if (out_.contains("backlog")) {
      const json& b = out_["backlog"];
      std::printf(
          "  backlog         %d events loaded in %.1f s (%.0f/s), %lld actions left; "
          "drained in %.1f s (%.0f actions/s)\n",
          o_.backlog, d(b, "load_seconds"), d(b, "accepted_per_second"),
          b.value("actions_at_drain_start", 0LL), d(b, "drain_seconds"),
          d(b, "drain_actions_per_second"));
      for (const json& t : b["load_server_threads"])
        std::printf("  loading thread  %d: %.2f s on a CPU, %.2f s waiting for one\n",
                    t.value("tid", 0), d(t, "cpu_seconds"), d(t, "runqueue_seconds"));
      std::printf(
          "  other routes    while draining p50 %.1f ms p99 %.1f ms (while loading p99 "
          "%.1f ms), %d errors\n",
          d(b, "other_routes_while_draining_p50_ms"), d(b, "other_routes_while_draining_p99_ms"),
          d(b, "other_routes_while_loading_p99_ms"), b.value("probe_errors", 0));
      for (const auto& [route, f] : b["other_routes_while_draining"].items())
        std::printf("    %-28s p50 %.1f ms  p99 %.1f ms  max %.1f ms\n", route.c_str(),
                    d(f, "p50_ms"), d(f, "p99_ms"), d(f, "max_ms"));
    }
    std::printf("  credits         %lld of %lld expected, %lld replays; peak RSS %.1f MiB\n",
                credits_.count, expected_, credits_.replays,
                static_cast<double>(out_.value("peak_rss_bytes", 0LL)) / 1048576.0);
    std::printf("  load average    %.2f at the start, %.2f at the end (%u cores)\n",
                out_.value("load_average_at_start", 0.0), out_.value("load_average_at_end", 0.0),
                std::thread::hardware_concurrency());
    for (const auto& [name, t] : out_["targets"].items())
      std::printf("  target %-32s %s (%.1f against %.0f)\n", name.c_str(),
                  t.value("met", false) ? "met   " : "MISSED", d(t, "value"), d(t, "target"));
  }

  // --- HTTP -----------------------------------------------------------------

  std::pair<int, json> call(const std::string& url, const std::string& method,
                            const std::string& target, const std::string& body) {
    auto r = http_.call(url, method, target, body, {}, std::chrono::seconds(120));
    if (!r.ok()) return {0, nullptr};
    return {r.response.status, json::parse(r.response.body, nullptr, false)};
  }
  std::string get(const std::string& url, const std::string& target) {
    auto r = http_.call(url, "GET", target, "", {}, std::chrono::seconds(60));
    return r.ok() ? r.response.body : std::string();
  }

  EventBenchOptions o_;
  const Workload workload_;
  fs::path dir_;
  std::string api_url_, sandbox_url_;
  pid_t server_ = -1, sandbox_ = -1;
  std::vector<std::string> trigger_ids_;
  long long expected_ = 0;  // credits every run so far must have paid
  Credits credits_;
  std::string wrong_;
  json out_ = json::object();
  http::BlockingHttp http_{http::direct_connection()};
};

}  // namespace

int run_event_bench(const EventBenchOptions& options) { return EventBench(options).run(); }

}  // namespace orch::api
