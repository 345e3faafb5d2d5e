// GET /docs as an operator sees it: `orchestrator serve` with authentication
// on, the page rendered by headless Chromium (Debian's `chromium`, which
// deploy/install-deps.sh installs; without it this test fails). Swagger UI
// must have rendered the document (the title, every operation, the Authorize
// button), and Chromium's network log must show that the page asked only this
// server for anything and that no connection left 127.0.0.1.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "tests/support/orchestrator_fixture.h"
#include "tests/support/orchestrator_process.h"

namespace orch::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kRepoRoot = fs::path(__FILE__).parent_path().parent_path();
constexpr const char* kBrowser = "chromium";
// How long Chromium may run in all (coreutils `timeout`), and how much
// virtual time the page gets to load and render (it takes about 1 s).
constexpr int kBrowserTimeoutSeconds = 60;
constexpr int kVirtualTimeBudgetMs = 10'000;

// The browser's full path, or "" when it is not installed.
std::string find_browser() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (!dir.empty() && ::access((fs::path(dir) / kBrowser).c_str(), X_OK) == 0)
      return (fs::path(dir) / kBrowser).string();
  return "";
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Chromium's NetLog file; it may lack its closing brackets if Chromium was
// stopped before it finished writing.
json read_net_log(const fs::path& path) {
  std::string text = read_file(path);
  json log = json::parse(text, nullptr, false);
  if (log.is_discarded()) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ',')) text.pop_back();
    log = json::parse(text + "]}", nullptr, false);
  }
  return log;
}

TEST(DocsPageTest, ChromiumRendersTheApiAndLoadsNothingFromElsewhere) {
  const std::string browser = find_browser();
  ASSERT_FALSE(browser.empty()) << "no '" << kBrowser
                                << "' on PATH: install it (deploy/install-deps.sh does)";
  TempDir dir;
  OrchestratorProcess server;  // authentication on, as operators run it
  ASSERT_TRUE(server.started()) << server.log_text();
  ApiClient client(server.base_url());
  ASSERT_EQ(client.get("/v1/workflows").status, 401) << "authentication is on";

  // Chromium with a profile of its own, and no way off this machine: every
  // host name but 127.0.0.1 fails to resolve, anything not on loopback goes
  // to a proxy on a closed local port. The NetLog records every request.
  const fs::path profile = dir.path / "profile";
  const fs::path net_log = dir.path / "netlog.json";
  const fs::path dom = dir.path / "dom.html";
  const fs::path browser_log = dir.path / "chromium.log";
  const std::string url = server.base_url() + "/docs";
  const std::string command =
      "env HOME=" + dir.path.string() + " XDG_CONFIG_HOME=" + (dir.path / "config").string() +
      " XDG_CACHE_HOME=" + (dir.path / "cache").string() + " timeout " +
      std::to_string(kBrowserTimeoutSeconds) + " " + browser +
      " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
      " --disable-background-networking --disable-component-update --disable-sync"
      " --disable-default-apps --no-pings"
      " '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'"
      " --proxy-server=http://127.0.0.1:9"
      " --user-data-dir=" +
      profile.string() + " --log-net-log=" + net_log.string() +
      " --dump-dom --virtual-time-budget=" + std::to_string(kVirtualTimeBudgetMs) + " " + url +
      " > " + dom.string() + " 2> " + browser_log.string();
  const auto started = std::chrono::steady_clock::now();
  const int status = std::system(command.c_str());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "chromium rendered " << url << " in " << seconds << " s\n";
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "chromium failed (" << status << "): " << read_file(browser_log).substr(0, 2000);

  // Swagger UI rendered the document: its title, one block per operation,
  // the operations' methods and paths, the Authorize button.
  const std::string page = read_file(dom);
  const json doc = json::parse(read_file(kRepoRoot / "docs" / "reference" / "openapi.json"));
  std::size_t operations = 0;
  for (const auto& [path, item] : doc["paths"].items()) operations += item.size();
  EXPECT_NE(page.find("Campaign Orchestrator REST API"), std::string::npos) << page.substr(0, 3000);
  EXPECT_EQ(count(page, "class=\"opblock-summary-method\""), operations) << page.substr(0, 3000);
  EXPECT_NE(page.find("data-path=\"/v1/campaigns\""), std::string::npos);
  EXPECT_NE(page.find("opblock-summary-method\">POST</span>"), std::string::npos);
  EXPECT_NE(page.find("data-path=\"/v1/workflows/{id}/signals/approve\""), std::string::npos);
  EXPECT_NE(page.find("btn authorize"), std::string::npos) << "no Authorize button";
  EXPECT_EQ(page.find("Failed to load API definition"), std::string::npos);

  // What went over the network.
  const json log = read_net_log(net_log);
  ASSERT_TRUE(log.is_object() && log.contains("events")) << "no NetLog at " << net_log;
  std::map<int, std::string> type_names;
  for (const auto& [name, id] : log["constants"]["logEventTypes"].items())
    type_names[id.get<int>()] = name;
  std::set<std::string> page_requests;
  std::size_t connects = 0;
  for (const json& event : log["events"]) {
    const std::string type = type_names[event.value("type", -1)];
    const json params = event.value("params", json::object());
    // A request the page made carries its origin as initiator; the
    // navigation and Chromium's own requests carry none.
    if (type == "URL_REQUEST_START_JOB" && params.contains("url")) {
      const std::string initiator = params.value("initiator", "");
      if (initiator.rfind("http", 0) == 0) {
        page_requests.insert(params["url"].get<std::string>());
        EXPECT_EQ(params["url"].get<std::string>().rfind(server.base_url() + "/", 0), 0u)
            << "the page loaded " << params["url"] << " from elsewhere";
      }
    }
    if (type == "TCP_CONNECT_ATTEMPT" && params.contains("address")) {
      ++connects;
      EXPECT_EQ(params["address"].get<std::string>().rfind("127.0.0.1:", 0), 0u)
          << "a connection to " << params["address"];
    }
  }
  EXPECT_GT(connects, 0u) << "the NetLog shows no connection at all";
  for (const char* asset : {"/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css",
                            "/docs/docs-init.js", "/openapi.json"})
    EXPECT_TRUE(page_requests.count(server.base_url() + asset)) << asset << " was not requested";
}

}  // namespace
}  // namespace orch::testing
