#include "api/cli/demo.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "adapters/http/blocking_http.h"
#include "adapters/sandbox/sandbox.h"
#include "api/server/config.h"
#include "api/server/orchestrator_app.h"
#include "api/cli/stop_signal.h"

namespace orch::api {

using nlohmann::json;

namespace {
constexpr std::chrono::milliseconds kSandboxLatency{120};
constexpr std::chrono::milliseconds kPoll{50};
constexpr std::chrono::seconds kDeadline{120};

json sample_campaign() {
  return {{"campaign_name", "Q4 Product Launch"},
          {"channels", {"email", "social", "blog"}},
          {"research_sources", {"notion", "web", "memory"}},
          {"competitor_urls", {"https://competitor.example.com/launch"}},
          {"target_audience", "B2B marketing leads at mid-size SaaS companies"},
          {"campaign_goals", {"awareness", "trial signups"}},
          {"tone", "professional"},
          {"reviewers", {"U-MARKETING-LEAD"}},
          {"metrics", {"views", "clicks", "conversions"}}};
}

std::string bar(int pct) {
  const int filled = pct / 5;
  return "[" + std::string(static_cast<std::size_t>(filled), '#') +
         std::string(static_cast<std::size_t>(20 - filled), '.') + "]";
}
}  // namespace

int run_demo(const std::vector<std::string>& args) {
  bool keep_serving = false;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--keep-serving") {
      keep_serving = true;
    } else if (args[i] == "--listen" && i + 1 < args.size() && parse_listen(args[i + 1], &host, &port)) {
      ++i;
    } else {
      std::fprintf(stderr, "usage: orchestrator demo [--keep-serving] [--listen HOST:PORT]\n");
      return 2;
    }
  }
  std::filesystem::path dir;
  AppConfig config = throwaway_sandbox_config("demo", &dir);
  config.listen_host = host;
  config.listen_port = port;
  config.sandbox_latency = kSandboxLatency;
  config.tuning.retry_initial_interval = std::chrono::milliseconds(200);
  OrchestratorApp app(config);
  if (std::string e = app.start(); !e.empty()) {
    std::fprintf(stderr, "demo: cannot start: %s\n", e.c_str());
    return 1;
  }
  const std::string api = app.base_url();
  std::printf("Campaign Orchestrator demo\n");
  std::printf("  REST API      %s   (authentication OFF for this local demo; `serve` needs\n"
              "                bearer tokens, see docs/how-to/create-tokens.md)\n",
              api.c_str());
  std::printf("  sandbox       %s   (fake Notion, Figma, GitHub, Slack, SendGrid, Buffer, "
              "Grafana, ...; %lld ms latency per call)\n",
              app.sandbox()->base_url().c_str(), static_cast<long long>(kSandboxLatency.count()));
  std::printf("  journal       %s (SQLite, WAL, fsync on every group commit)\n\n",
              config.store_url.c_str());

  http::BlockingHttp client(http::direct_connection());  // the server is on this machine
  const json input = sample_campaign();
  auto started = client.call(api, "POST", "/v1/campaigns", input.dump());
  if (!started.ok() || started.response.status != 201) {
    std::fprintf(stderr, "demo: start failed: %d %s\n", started.response.status,
                 started.response.body.c_str());
    return 1;
  }
  const std::string id = json::parse(started.response.body)["workflow_id"];
  std::printf("started campaign \"%s\" as workflow %s\n", input["campaign_name"].get<std::string>().c_str(),
              id.c_str());

  std::map<std::string, std::string> phase_status;
  bool approved = false;
  json state;
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    auto r = client.call(api, "GET", "/v1/workflows/" + id);
    if (!r.ok() || r.response.status != 200) {
      std::fprintf(stderr, "demo: query failed\n");
      return 1;
    }
    state = json::parse(r.response.body);
    const int pct = state.value("progress_percentage", 0);
    for (const json& phase : state["phases"]) {
      const std::string name = phase["name"], st = phase["status"];
      std::string& seen = phase_status[name];
      if (seen == st || st == "pending") continue;
      seen = st;
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("%s %3d%%  %6.2fs  %-12s %s (%zu step%s)\n", bar(pct).c_str(), pct, secs,
                  name.c_str(), st.c_str(), phase["steps"].size(),
                  phase["steps"].size() == 1 ? "" : "s");
    }
    const std::string status = state["status"];
    if (status == "awaiting_approval" && !approved) {
      std::printf("        review is waiting for a human: approving as U-MARKETING-LEAD\n");
      json body = {{"reviewer", "U-MARKETING-LEAD"}, {"comment", "Looks great, ship it"}};
      auto a = client.call(api, "POST", "/v1/workflows/" + id + "/signals/approve", body.dump());
      if (!a.ok() || a.response.status != 202) {
        std::fprintf(stderr, "demo: approve failed: %s\n", a.response.body.c_str());
        return 1;
      }
      approved = true;
      std::printf("        POST /v1/workflows/%s/signals/approve -> 202 %s\n", id.c_str(),
                  a.response.body.c_str());
    }
    if (status == "completed" || status == "failed" || status == "cancelled") break;
    if (std::chrono::steady_clock::now() - t0 > kDeadline) {
      std::fprintf(stderr, "demo: the campaign did not finish in %llds\n",
                   static_cast<long long>(kDeadline.count()));
      return 1;
    }
    std::this_thread::sleep_for(kPoll);
  }

  const json ledger = app.sandbox()->ledger_for(id);
  std::printf("\nresult: %s in %.2fs\n", state["status"].get<std::string>().c_str(),
              state.value("duration_seconds", 0.0));
  for (const json& phase : state["phases"])
    for (const json& step : phase["steps"])
      std::printf("  %-28s %-10s attempts=%d\n", step["id"].get<std::string>().c_str(),
                  step["status"].get<std::string>().c_str(), step["attempts"].get<int>());
  auto output_of = [&](const char* step_id, const char* field) -> std::string {
    for (const json& phase : state["phases"])
      for (const json& step : phase["steps"])
        if (step["id"] == step_id && step.contains("output"))
          return step["output"].value(field, "");
    return "";
  };
  std::printf("\n  review pull request  %s\n", output_of("review.pull_request", "github_pr_url").c_str());
  std::printf("  analytics dashboard  %s\n", output_of("analytics.dashboard", "dashboard_url").c_str());
  std::printf("  sandbox side effects %zu (each applied once; replays: %d)\n",
              ledger["side_effects"].size(),
              app.sandbox()->ledger_summary().value("replays", 0));
  const bool completed = state["status"] == "completed";
  if (keep_serving) {
    std::printf("\nthe server keeps running (Ctrl-C stops it); try:\n");
    std::printf("  curl %s/v1/workflows/%s\n", api.c_str(), id.c_str());
    std::printf("  curl %s/v1/workflows/%s/history\n", api.c_str(), id.c_str());
    std::printf("  curl %s/metrics\n", api.c_str());
    std::printf("  open %s/docs in a browser for the API\n", api.c_str());
    std::fflush(stdout);
    wait_for_stop_signal();
  } else {
    std::printf("\nwhere to look next (this server stops now):\n");
    std::printf("  ./build/orchestrator demo --keep-serving    # the same, and the server stays up\n");
    std::printf("  ./build/orchestrator serve --sandbox --no-auth  # a server of your own, "
                "127.0.0.1:8080\n");
    std::printf("  docs/tutorials/first-campaign.md            # a campaign by hand\n");
  }
  app.stop();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return completed ? 0 : 1;
}

}  // namespace orch::api
