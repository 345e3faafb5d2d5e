// Microbenchmarks of the state-machine transition (Google Benchmark; not
// part of the CTest run). Build and run (README "Performance"):
//   cmake --build build --target transition_bench && ./build/tests/bench/transition_bench
//
// The records are those of a real campaign: once, before timing, an
// in-process orchestrator and sandbox run one campaign through approval to
// completion and every journal record is captured as it is made.
// BM_ReplayCampaign: WorkflowState::start + apply of all of them (what
//   recovery and a query of a finished workflow do); items/s is records
//   (transitions) applied, and per_transition the time of one.
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/http/blocking_http.h"
#include "api/server/orchestrator_app.h"
#include "engine/workflow/workflow_state.h"
#include "phases/campaign/campaign_definition.h"
#include "phases/campaign/campaign_input.h"

namespace {

using nlohmann::json;
using orch::engine::JournalRecord;

struct Captured {
  std::vector<JournalRecord> records;
  std::string error;
};

// Runs one campaign to completion and returns its journal records.
Captured capture_campaign() {
  Captured out;
  std::filesystem::path dir;
  orch::api::AppConfig config = orch::api::throwaway_sandbox_config("transition-bench", &dir);
  std::mutex mu;
  {
    orch::api::OrchestratorApp app(config);
    app.set_record_observer([&](const orch::engine::WorkflowState&, const JournalRecord& r) {
      std::lock_guard lock(mu);
      out.records.push_back(r);
    });
    if (std::string e = app.start(); !e.empty()) {
      out.error = e;
      return out;
    }
    orch::http::BlockingHttp http;
    const json input = orch::phases::sample_campaign_input("Transition Bench", {"alice"});
    auto started = http.call(app.base_url(), "POST", "/v1/campaigns", input.dump(),
                             {{"Content-Type", "application/json"}});
    const std::string id =
        json::parse(started.response.body, nullptr, false).value("workflow_id", "");
    bool approved = false;
    for (int i = 0; i < 3000 && out.error.empty(); ++i) {
      auto p = http.call(app.base_url(), "GET", "/v1/workflows/" + id + "/progress");
      const std::string status =
          json::parse(p.response.body, nullptr, false).value("status", "");
      if (status == "completed") break;
      if (status == "failed" || status == "cancelled") out.error = "campaign " + status;
      if (status == "awaiting_approval" && !approved) {
        http.call(app.base_url(), "POST", "/v1/workflows/" + id + "/signals/approve",
                  json{{"reviewer", "alice"}}.dump(), {{"Content-Type", "application/json"}});
        approved = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    app.stop();
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return out;
}

const Captured& campaign() {
  static const Captured captured = capture_campaign();
  return captured;
}

const orch::engine::WorkflowDefinition& definition() {
  static const orch::engine::WorkflowDefinition def =
      orch::phases::campaign_definition(orch::phases::CampaignTuning{});
  return def;
}

void replay(benchmark::State& state) {
  const Captured& c = campaign();
  if (!c.error.empty() || c.records.empty()) {
    state.SkipWithError(("no campaign captured: " + c.error).c_str());
    return;
  }
  for (auto _ : state) {
    std::string error;
    auto st = orch::engine::WorkflowState::start(c.records.front(), definition(), &error);
    if (!st) {
      state.SkipWithError(error.c_str());
      return;
    }
    for (std::size_t i = 1; i < c.records.size(); ++i)
      if (!st->apply(c.records[i])) {
        state.SkipWithError("apply failed");
        return;
      }
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(c.records.size()));
  state.counters["records"] = static_cast<double>(c.records.size());
}

void BM_ReplayCampaign(benchmark::State& state) {
  replay(state);
  // Seconds per transition (record applied), shown with a unit prefix.
  state.counters["per_transition"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>(campaign().records.size()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ReplayCampaign);

}  // namespace

BENCHMARK_MAIN();
