// Crash harness: the sandbox and the orchestrator run as separate processes;
// N campaigns (approved, rejected, failing in distribution, cancelled) run
// while the orchestrator is SIGKILLed K times at random moments and restarted
// on the same SQLite store. At the end, through the API and the sandbox's
// ledger: every workflow reached the state its scenario implies, every
// forward side effect was applied at most once (and all 15 for a completed
// campaign), every compensation exactly once and newest first, and every
// workflow's journal is dense and has no duplicate transition. Beside the
// campaigns, senders reserve and commit messages through user actors
// (crash_actors.h): no cap exceeded, no committed send lost or twice; and
// customer events stream in batches against three reward triggers
// (crash_events.h): no acknowledged event lost, every one processed, the
// sandbox's credits exactly the expected ones, none paid twice.
//
//   crash_harness --orchestrator PATH [--workflows N] [--kills K] [--seed S]
//                 [--latency MS] [--start-interval MS] [--keep DIR]
//                 [--passivate-after MS] [--checkpoint-pages P] [--users U]
//                 [--customers C] [--events E]
//
// --passivate-after sets the orchestrator's passivate_after_ms (0: a campaign
// leaves memory as soon as it waits for a human), so decisions and deadlines
// read campaigns back from the journal while kills land anywhere.
// --checkpoint-pages sets journal_checkpoint_pages: a small value keeps the
// background checkpointer copying the log while kills land.
//
// Exit 0 when every check holds; the last line is a JSON summary.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/http/blocking_http.h"
#include "api/cli/child_process.h"
#include "phases/campaign/campaign_input.h"
#include "tests/crash_actors.h"
#include "tests/crash_broadcasts.h"
#include "tests/crash_calls.h"
#include "tests/crash_events.h"

namespace {

namespace http = orch::http;

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

enum class Scenario { approve, reject, fail_distribution, cancel };
const char* name_of(Scenario s) {
  switch (s) {
    case Scenario::approve: return "approve";
    case Scenario::reject: return "reject";
    case Scenario::fail_distribution: return "fail_distribution";
    case Scenario::cancel: return "cancel";
  }
  return "?";
}

struct Options {
  std::string orchestrator;
  int workflows = 200;
  int kills = 10;
  unsigned seed = 7;
  long long passivate_after_ms = -2;  // -2: the server's default
  long long checkpoint_pages = -1;    // -1: the server's default
  int latency_ms = 8;
  int start_interval_ms = 5;
  int users = 20;  // user actors the senders work on (0: none)
  int customers = 1'500;  // customers the broadcasts go to (0: no broadcasts)
  int events = 3'000;     // customer events sent, redeliveries included (0: none)
  std::string keep;
};

// The orchestrator restarted from the killer thread must outlive it: no
// parent-death signal.
pid_t spawn(const std::vector<std::string>& argv, const fs::path& log) {
  return orch::api::spawn_child(argv[0], argv, log, /*die_with_parent=*/false);
}

class Harness {
 public:
  explicit Harness(Options o) : o_(std::move(o)), rng_(o_.seed) {}

  int run() {
    dir_ = o_.keep.empty() ? fs::temp_directory_path() /
                                 ("orch-crash-" + std::to_string(::getpid()))
                           : fs::path(o_.keep);
    fs::create_directories(dir_);
    sandbox_url_ = "http://127.0.0.1:" + std::to_string(orch::api::free_loopback_port());
    api_url_ = "http://127.0.0.1:" + std::to_string(orch::api::free_loopback_port());
    write_config();
    sandbox_pid_ = spawn({o_.orchestrator, "sandbox", "--listen", sandbox_url_.substr(7),
                          "--latency", std::to_string(o_.latency_ms)},
                         dir_ / "sandbox.log");
    if (!wait_healthy(sandbox_url_)) return fail("sandbox did not start");
    start_orchestrator();
    if (!wait_healthy(api_url_)) return fail("orchestrator did not start");

    plan_scenarios();
    inject_faults();
    orch::testing::ActorLoad load;
    load.users = o_.users;
    orch::testing::ActorDriver actors(api_url_, load);
    if (o_.users > 0 && !actors.configure()) return fail("user actors could not be configured");
    orch::testing::BroadcastLoad broadcast_load;
    broadcast_load.customers = o_.customers;
    orch::testing::BroadcastDriver broadcasts(api_url_, sandbox_url_, broadcast_load);
    if (o_.customers > 0 && !broadcasts.configure()) return fail("customers could not be imported");
    broadcasts_ = &broadcasts;
    orch::testing::EventLoad event_load;
    event_load.events = o_.events;
    event_load.seed = o_.seed;
    event_load.kills = o_.kills;
    orch::testing::EventDriver events(api_url_, sandbox_url_, event_load);
    if (o_.events > 0 && !events.configure()) return fail("event triggers could not be set up");
    if (o_.events > 0) events_ = &events;
    std::thread killer([this] { kill_loop(); });
    std::thread senders([&] {
      if (o_.users > 0) actors.run();
    });
    std::thread broadcaster([&] {
      if (o_.customers > 0) broadcasts.run();
    });
    std::thread event_sender([&] {
      if (o_.events > 0) events.run();
    });
    drive();
    senders.join();
    broadcaster.join();
    event_sender.join();
    killer.join();
    // One last restart so verification also reads a recovered server.
    restart_orchestrator();
    if (!wait_healthy(api_url_)) return fail("orchestrator did not restart");
    json summary;
    bool ok = verify(&summary);
    if (o_.users > 0) ok = actors.verify(&summary) && ok;
    if (o_.customers > 0) ok = broadcasts.verify(&summary) && ok;
    if (o_.events > 0) ok = events.verify(&summary) && ok;
    summary["kills_while_broadcasting"] = kills_while_broadcasting_.load();
    std::printf("%s\n", summary.dump().c_str());
    ::kill(orchestrator_pid_, SIGTERM);
    ::waitpid(orchestrator_pid_, nullptr, 0);
    // And the journal checks out offline.
    pid_t verifier = spawn({o_.orchestrator, "journal", "verify", "--store",
                            "sqlite:" + (dir_ / "journal.db").string()},
                           dir_ / "verify.log");
    int status = 0;
    ::waitpid(verifier, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "orchestrator journal verify failed (see %s)\n",
                   (dir_ / "verify.log").c_str());
      ok = false;
    }
    ::kill(sandbox_pid_, SIGTERM);
    ::waitpid(sandbox_pid_, nullptr, 0);
    if (ok && o_.keep.empty()) fs::remove_all(dir_);
    return ok ? 0 : 1;
  }

 private:
  int fail(const std::string& why) {
    std::fprintf(stderr, "crash_harness: %s (logs in %s)\n", why.c_str(), dir_.c_str());
    if (orchestrator_pid_ > 0) ::kill(orchestrator_pid_, SIGKILL);
    if (sandbox_pid_ > 0) ::kill(sandbox_pid_, SIGKILL);
    return 1;
  }

  void write_config() {
    json services = json::object();
    for (const char* s : {"notion", "tool_service", "memory_gateway", "slm", "figma", "github",
                          "github_pages", "slack", "sendgrid", "buffer", "grafana", "messaging",
                          "rewards"})
      // The sandbox is on this machine: never through a proxy.
      services[s] = {{"url", sandbox_url_}, {"token", "crash-token"}, {"settings", {{"proxy", ""}}}};
    json config = {{"services", services},
                   {"log_level", "warn"},
                   {"retry_initial_interval_ms", 20}};
    if (o_.passivate_after_ms >= -1) config["passivate_after_ms"] = o_.passivate_after_ms;
    if (o_.checkpoint_pages >= 0) config["journal_checkpoint_pages"] = o_.checkpoint_pages;
    std::ofstream(dir_ / "config.json") << config.dump(2);
  }

  void start_orchestrator() {
    orchestrator_pid_ =
        spawn({o_.orchestrator, "serve", "--no-auth", "--listen", api_url_.substr(7), "--store",
               "sqlite:" + (dir_ / "journal.db").string(), "--config",
               (dir_ / "config.json").string()},
              dir_ / "orchestrator.log");
  }

  void restart_orchestrator() {
    ::kill(orchestrator_pid_, SIGKILL);
    ::waitpid(orchestrator_pid_, nullptr, 0);
    start_orchestrator();
  }

  bool wait_healthy(const std::string& url) {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      auto r = http_.call(url, "GET", "/health", "", {}, std::chrono::milliseconds(500));
      if (r.ok() && r.response.status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // Sends until the server answers (it may be down between a kill and its
  // restart). Returns the final status and body.
  std::pair<int, json> call(const std::string& method, const std::string& target,
                            const json& body = nullptr, http::Headers headers = {}) {
    return orch::testing::call_until_answered(api_url_, method, target, body, headers, &retries_);
  }

  void plan_scenarios() {
    for (int i = 0; i < o_.workflows; ++i) {
      const auto s = static_cast<Scenario>(i % 4);
      const std::string id = "crash-" + std::to_string(i);
      scenario_[id] = s;
      ids_.push_back(id);
    }
  }

  void inject_faults() {
    json failing = json::array();
    for (const auto& [id, s] : scenario_)
      if (s == Scenario::fail_distribution) failing.push_back(id);
    auto r = http_.call(sandbox_url_, "POST", "/sandbox/faults",
                        json{{"path_prefix", "/v3/mail/send"},
                             {"status", 400},
                             {"workflow_ids", failing}}
                            .dump());
    if (!r.ok() || r.response.status != 201) std::fprintf(stderr, "fault injection failed\n");
  }

  json input_for(const std::string& id) {
    json input = orch::phases::sample_campaign_input("crash " + id, {"alice"});
    input["workflow_id"] = id;
    return input;
  }

  // Starts one campaign every `start_interval_ms` (idempotently: a retry
  // after a crash gets 200) while deciding the ones that wait for review.
  void drive() {
    std::set<std::string> pending(ids_.begin(), ids_.end());
    std::set<std::string> decided;
    std::size_t next = 0;
    auto next_start = Clock::now();
    auto next_poll = Clock::now();
    const auto deadline = Clock::now() + std::chrono::minutes(30);
    while (!pending.empty() && Clock::now() < deadline) {
      while (next < ids_.size() && Clock::now() >= next_start) {
        const std::string& id = ids_[next];
        auto [status, body] = call("POST", "/v1/campaigns", input_for(id),
                                   {{"Idempotency-Key", "start-" + id}});
        if (status != 201 && status != 200)
          std::fprintf(stderr, "start %s: %d %s\n", id.c_str(), status, body.dump().c_str());
        if (scenario_[id] == Scenario::cancel && next % 8 == 3) {
          decide(id);  // some cancels land right after the start
          decided.insert(id);
        }
        started_ = static_cast<int>(++next);
        next_start += std::chrono::milliseconds(o_.start_interval_ms);
      }
      if (Clock::now() >= next_poll) {
        next_poll = Clock::now() + std::chrono::milliseconds(20);
        std::map<std::string, std::string> status = list_statuses();
        for (auto it = pending.begin(); it != pending.end();) {
          const std::string& id = *it;
          const std::string s = status.count(id) ? status[id] : "";
          if (s == "completed" || s == "failed" || s == "cancelled") {
            it = pending.erase(it);
            continue;
          }
          const bool waiting = s == "awaiting_approval";
          if (!decided.count(id) &&
              (waiting || (scenario_[id] == Scenario::cancel && !s.empty()))) {
            decide(id);
            decided.insert(id);
          }
          ++it;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    driving_done_ = true;
  }

  void decide(const std::string& id) {
    switch (scenario_[id]) {
      case Scenario::approve:
      case Scenario::fail_distribution:
        call("POST", "/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}},
             {{"Idempotency-Key", "decide-" + id}});
        break;
      case Scenario::reject:
        call("POST", "/v1/workflows/" + id + "/signals/reject",
             {{"reviewer", "alice"}, {"reason", "crash test rejection"}},
             {{"Idempotency-Key", "decide-" + id}});
        break;
      case Scenario::cancel:
        call("POST", "/v1/workflows/" + id + "/cancel", {{"reason", "crash test cancel"}});
        break;
    }
  }

  std::map<std::string, std::string> list_statuses() {
    std::map<std::string, std::string> out;
    for (int page = 1;; ++page) {
      auto [status, body] =
          call("GET", "/v1/workflows?page_size=100&page=" + std::to_string(page));
      if (status != 200) break;
      for (const json& row : body["data"]) out[row["workflow_id"]] = row["status"];
      if (page >= body["pagination"].value("total_pages", 0)) break;
    }
    return out;
  }

  // Kill k happens once k/(K+1) of the campaigns have started and k/(K+1)
  // of the event batches were answered, plus a random delay: every kill
  // lands while work is in flight, however fast it runs.
  void kill_loop() {
    std::uniform_int_distribution<int> jitter(0, 40);
    auto working = [this] { return !driving_done_ || (events_ && events_->running()); };
    for (int k = 0; k < o_.kills && working(); ++k) {
      const int threshold = (k + 1) * o_.workflows / (o_.kills + 1);
      while (started_.load() < threshold && !driving_done_)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      const double share = static_cast<double>(k + 1) / (o_.kills + 1);
      while (events_ && events_->progress() < share && events_->running())
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      std::this_thread::sleep_for(std::chrono::milliseconds(jitter(rng_)));
      // What was going on at the moment of the kill (best effort).
      auto r = http_.call(api_url_, "GET", "/v1/workflows?status=compensating&page_size=1", "",
                          {}, std::chrono::milliseconds(200));
      if (r.ok() && r.response.status == 200) {
        json b = json::parse(r.response.body, nullptr, false);
        if (b.is_object() && b["pagination"].value("total_count", 0) > 0) ++kills_while_compensating_;
      }
      if (broadcasts_ && broadcasts_->sending()) ++kills_while_broadcasting_;
      if (events_) events_->before_kill();
      restart_orchestrator();
      ++kills_done_;
      wait_healthy(api_url_);
    }
  }

  bool verify(json* summary_out) {
    int bad = 0;
    std::map<std::string, int> outcomes;
    long long forward_effects = 0, compensations = 0, replays = 0;
    for (const std::string& id : ids_) {
      auto [st, state] = call("GET", "/v1/workflows/" + id);
      auto [hs, history] = call("GET", "/v1/workflows/" + id + "/history?page_size=1000");
      auto lr = http_.call(sandbox_url_, "GET", "/sandbox/ledger/" + id);
      json ledger = lr.ok() && lr.response.status == 200
                        ? json::parse(lr.response.body, nullptr, false)
                        : json{{"side_effects", json::array()}, {"compensations", json::array()}};
      auto complain = [&](const std::string& what) {
        if (bad < 20) std::fprintf(stderr, "%s (%s): %s\n", id.c_str(), name_of(scenario_[id]), what.c_str());
        ++bad;
      };
      if (st != 200 || hs != 200) {
        complain("workflow lost: GET answered " + std::to_string(st));
        continue;
      }
      const std::string status = state["status"];
      outcomes[status]++;
      const Scenario sc = scenario_[id];
      const std::string expected = sc == Scenario::approve  ? "completed"
                                   : sc == Scenario::cancel ? "cancelled"
                                                            : "failed";
      if (status != expected) complain("ended " + status + ", expected " + expected);
      if (sc == Scenario::reject && state.value("unwind_reason", "") != "rejected")
        complain("unwind reason " + state.value("unwind_reason", ""));
      if (sc == Scenario::fail_distribution && state.value("unwind_reason", "") != "step_failed")
        complain("unwind reason " + state.value("unwind_reason", ""));

      // The journal: dense, and no transition twice.
      std::set<std::string> completed_steps, completed_comps;
      std::vector<std::string> completion_order, compensation_order;
      std::set<std::string> compensable;
      for (const json& phase : state["phases"])
        for (const json& step : phase["steps"])
          if (step.contains("compensation")) compensable.insert(step["id"].get<std::string>());
      std::uint64_t expect_seq = 1;
      for (const json& rec : history["data"]) {
        if (rec["seq"].get<std::uint64_t>() != expect_seq++) complain("journal not dense");
        const std::string type = rec["type"];
        if (type == "step_completed") {
          const std::string step = rec["data"]["step"];
          if (!completed_steps.insert(step).second) complain("step completed twice: " + step);
          if (compensable.count(step)) completion_order.push_back(step);
        } else if (type == "compensation_completed") {
          const std::string step = rec["data"]["step"];
          if (!completed_comps.insert(step).second) complain("compensated twice: " + step);
          compensation_order.push_back(step);
        }
      }
      if (history["pagination"]["total_count"] != history["data"].size())
        complain("history longer than one page");

      // The sandbox: effects at most once, and exactly the journaled ones.
      std::set<std::string> applied;
      for (const json& e : ledger["side_effects"]) {
        if (!applied.insert(e["step"].get<std::string>()).second)
          complain("effect applied twice: " + e["step"].get<std::string>());
        replays += e.value("replays", 0);
      }
      forward_effects += static_cast<long long>(applied.size());
      if (applied != completed_steps) complain("ledger effects differ from journaled completions");
      if (status == "completed" && applied.size() != 15)
        complain("completed with " + std::to_string(applied.size()) + " side effects");
      std::vector<std::string> undone;
      for (const json& c : ledger["compensations"]) undone.push_back(c["step"]);
      compensations += static_cast<long long>(undone.size());
      if (status == "completed") {
        if (!undone.empty()) complain("completed workflow was compensated");
      } else {
        const std::vector<std::string> newest_first(completion_order.rbegin(),
                                                    completion_order.rend());
        if (undone != newest_first) complain("compensations not exactly once newest first");
        if (compensation_order != newest_first) complain("journaled compensations out of order");
      }
    }
    json summary = {{"workflows", o_.workflows},
                    {"kills", kills_done_.load()},
                    {"kills_while_compensating", kills_while_compensating_.load()},
                    {"outcomes", outcomes},
                    {"forward_side_effects", forward_effects},
                    {"compensations", compensations},
                    {"sandbox_replays", replays},
                    {"client_retries", retries_.load()},
                    {"violations", bad}};
    *summary_out = std::move(summary);
    if (kills_done_ < o_.kills) {
      std::fprintf(stderr, "only %d of %d kills happened before the workload ended\n",
                   kills_done_.load(), o_.kills);
      return false;
    }
    return bad == 0;
  }

  Options o_;
  std::mt19937 rng_;
  fs::path dir_;
  std::string sandbox_url_, api_url_;
  pid_t sandbox_pid_ = -1;
  std::atomic<pid_t> orchestrator_pid_{-1};
  std::vector<std::string> ids_;
  std::map<std::string, Scenario> scenario_;
  http::BlockingHttp http_{http::direct_connection()};  // servers on this machine
  std::atomic<bool> driving_done_{false};
  std::atomic<int> started_{0};
  std::atomic<int> kills_done_{0};
  std::atomic<int> kills_while_compensating_{0};
  std::atomic<int> kills_while_broadcasting_{0};
  orch::testing::BroadcastDriver* broadcasts_ = nullptr;
  orch::testing::EventDriver* events_ = nullptr;
  std::atomic<long long> retries_{0};
};

constexpr const char* kUsage =
    "usage: crash_harness --orchestrator PATH [options]\n"
    "\n"
    "Runs N campaigns (approved, rejected, failing in distribution, cancelled)\n"
    "against `PATH serve` and a separate `PATH sandbox`, SIGKILLs the\n"
    "orchestrator K times at random moments and restarts it on the same\n"
    "store, then checks that nothing was lost or done twice. Exit 0 when\n"
    "every check holds; the last line is a JSON summary.\n"
    "\n"
    "  --orchestrator PATH     the orchestrator binary (required)\n"
    "  --workflows N           campaigns to run (200)\n"
    "  --kills K               SIGKILLs while they run (10)\n"
    "  --seed S                random seed for scenarios and kill times (7)\n"
    "  --latency MS            sandbox latency per call (8)\n"
    "  --start-interval MS     pause between campaign starts (5)\n"
    "  --passivate-after MS    the server's passivate_after_ms (its default)\n"
    "  --checkpoint-pages P    the server's journal_checkpoint_pages (its default)\n"
    "  --users U               user actors the senders reserve for, cap 3 a day (20; 0: none)\n"
    "  --customers C           customers four broadcasts go to (1500; 0: none)\n"
    "  --events E              customer events sent to three reward triggers (3000; 0: none)\n"
    "  --keep DIR              keep the store and logs in DIR\n"
    "  --help                  this text\n";

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "crash_harness: %s needs a value\n%s", a.c_str(), kUsage);
      return 2;
    }
    const std::string v = argv[++i];
    try {
      if (a == "--orchestrator") o.orchestrator = v;
      else if (a == "--workflows") o.workflows = std::stoi(v);
      else if (a == "--kills") o.kills = std::stoi(v);
      else if (a == "--seed") o.seed = static_cast<unsigned>(std::stoul(v));
      else if (a == "--latency") o.latency_ms = std::stoi(v);
      else if (a == "--keep") o.keep = v;
      else if (a == "--passivate-after") o.passivate_after_ms = std::stoll(v);
      else if (a == "--checkpoint-pages") o.checkpoint_pages = std::stoll(v);
      else if (a == "--start-interval") o.start_interval_ms = std::stoi(v);
      else if (a == "--users") o.users = std::stoi(v);
      else if (a == "--customers") o.customers = std::stoi(v);
      else if (a == "--events") o.events = std::stoi(v);
      else {
        std::fprintf(stderr, "crash_harness: unknown argument %s\n%s", a.c_str(), kUsage);
        return 2;
      }
    } catch (const std::exception&) {
      std::fprintf(stderr, "crash_harness: %s takes a number, not '%s'\n", a.c_str(), v.c_str());
      return 2;
    }
  }
  if (o.orchestrator.empty()) {
    std::fprintf(stderr, "crash_harness: --orchestrator PATH is required\n%s", kUsage);
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  return Harness(o).run();
}
