// Checks the files of deploy/ against the real server: promtool accepts the
// Prometheus config and alert rules, and every metric the Grafana dashboard
// queries is exported by a running orchestrator after one campaign and one
// customer event that matched a trigger.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const fs::path kRepoRoot = fs::path(__FILE__).parent_path().parent_path();
const fs::path kDeploy = kRepoRoot / "deploy";
constexpr const char* kPromtool = "/usr/bin/promtool";
constexpr const char* kInstallHint =
    " is missing: run deploy/install-deps.sh (it installs the Debian package 'prometheus')";

// Runs `command` through the shell; returns its exit status and output.
int run(const std::string& command, std::string* output) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) output->append(buf.data(), n);
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

TEST(DeployFilesTest, PromtoolAcceptsConfigAndRules) {
  ASSERT_TRUE(fs::exists(kPromtool)) << kPromtool << kInstallHint;
  const fs::path dir = kDeploy / "prometheus";
  ASSERT_TRUE(fs::exists(dir / "prometheus.yml"));
  ASSERT_TRUE(fs::exists(dir / "alerts.yml"));

  // From the prometheus directory, so that rule_files (alerts.yml) resolves.
  std::string out;
  EXPECT_EQ(run("cd " + quoted(dir) + " && " + kPromtool + " check config prometheus.yml", &out), 0)
      << out;
  EXPECT_NE(out.find("1 rule files found"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(run(std::string(kPromtool) + " check rules " + quoted(dir / "alerts.yml"), &out), 0)
      << out;
}

TEST(DeployFilesTest, EveryAlertHasSeverityAndAnnotations) {
  // A textual check of the rules file: per alert, a severity label and both
  // annotations (promtool does not require them).
  const std::string text = read_file(kDeploy / "prometheus" / "alerts.yml");
  std::vector<std::string> alerts;
  std::size_t pos = 0;
  std::vector<std::size_t> starts;
  while ((pos = text.find("- alert:", pos)) != std::string::npos) starts.push_back(pos++);
  ASSERT_GE(starts.size(), 4u);
  for (std::size_t i = 0; i < starts.size(); ++i) {
    const std::string block = text.substr(
        starts[i], (i + 1 < starts.size() ? starts[i + 1] : text.size()) - starts[i]);
    const std::string name = block.substr(0, block.find('\n'));
    EXPECT_NE(block.find("severity:"), std::string::npos) << name;
    EXPECT_NE(block.find("summary:"), std::string::npos) << name;
    EXPECT_NE(block.find("description:"), std::string::npos) << name;
  }
}

// Every `expr` in every panel's targets (rows may nest panels).
void collect_exprs(const json& panels, std::vector<std::string>* exprs, int* count) {
  for (const json& panel : panels) {
    if (panel.value("type", "") != "row") ++*count;
    if (panel.contains("targets"))
      for (const json& target : panel["targets"])
        if (target.contains("expr")) exprs->push_back(target["expr"].get<std::string>());
    if (panel.contains("panels")) collect_exprs(panel["panels"], exprs, count);
  }
}

// Every datasource uid referenced anywhere in the dashboard.
void collect_uids(const json& node, std::set<std::string>* uids) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "datasource" && value.is_object() && value.contains("uid"))
        uids->insert(value["uid"].get<std::string>());
      collect_uids(value, uids);
    }
  } else if (node.is_array()) {
    for (const json& v : node) collect_uids(v, uids);
  }
}

// Metric names in a PromQL expression: identifiers followed by `{` or `[`,
// or ending in a metric-like suffix. Label names and values, functions and
// keywords are neither.
// (Scanned by hand: std::regex trips a GCC 12 -Wmaybe-uninitialized false
// positive in sanitizer builds.)
std::set<std::string> metric_names(const std::string& expr) {
  // Drop string literals (label values, e.g. "completed") first.
  std::string plain;
  for (std::size_t i = 0; i < expr.size(); ++i) {
    if (expr[i] != '"') {
      plain.push_back(expr[i]);
      continue;
    }
    const std::size_t close = expr.find('"', i + 1);
    plain += "\"\"";
    if (close == std::string::npos) break;
    i = close;
  }
  auto ident_start = [](char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
  };
  auto ident_char = [&](char c) { return ident_start(c) || std::isdigit(static_cast<unsigned char>(c)); };
  auto ends_with = [](const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  std::set<std::string> names;
  for (std::size_t start = 0; start < plain.size();) {
    if (!ident_start(plain[start])) {
      ++start;
      continue;
    }
    std::size_t end = start;
    while (end < plain.size() && ident_char(plain[end])) ++end;
    const std::string name = plain.substr(start, end - start);
    const bool variable_or_number =
        start > 0 && (plain[start - 1] == '$' || std::isalnum(static_cast<unsigned char>(plain[start - 1])));
    start = end;
    if (variable_or_number) continue;  // $__rate_interval, or the tail of a number
    std::size_t after = end;
    while (after < plain.size() && plain[after] == ' ') ++after;
    const bool selector = after < plain.size() && (plain[after] == '{' || plain[after] == '[');
    bool metric_like = false;
    for (const char* tail : {"_total", "_seconds", "_bucket", "_count", "_sum", "_size", "_state",
                             "_active"})
      metric_like |= ends_with(name, tail);
    if (selector || metric_like) names.insert(name);
  }
  return names;
}

TEST(DeployFilesTest, MetricNameExtraction) {
  EXPECT_EQ(metric_names(R"(histogram_quantile(0.99, sum by (le) (rate(journal_append_seconds_bucket[$__rate_interval]))))"),
            std::set<std::string>{"journal_append_seconds_bucket"});
  EXPECT_EQ(metric_names(R"(sum by (status) (workflows_active))"),
            std::set<std::string>{"workflows_active"});
  EXPECT_EQ(metric_names(R"(sum(rate(workflow_executions_total{status="completed_total"}[5m])))"),
            std::set<std::string>{"workflow_executions_total"});
}

struct Dashboard {
  json doc;
  std::vector<std::string> exprs;
  int panels = 0;
};

Dashboard load_dashboard() {
  Dashboard d;
  const fs::path path = kDeploy / "grafana" / "dashboards" / "campaign-orchestrator.json";
  d.doc = json::parse(read_file(path), nullptr, false);
  if (d.doc.is_object() && d.doc.contains("panels")) collect_exprs(d.doc["panels"], &d.exprs, &d.panels);
  return d;
}

TEST(DeployFilesTest, DashboardHasPanelsAndKnownDatasources) {
  const Dashboard d = load_dashboard();
  ASSERT_TRUE(d.doc.is_object()) << "the dashboard is not valid JSON";
  EXPECT_GE(d.panels, 8);
  EXPECT_FALSE(d.exprs.empty());

  // The uids of deploy/grafana/provisioning/datasources/datasources.yml.
  const std::string yml =
      read_file(kDeploy / "grafana" / "provisioning" / "datasources" / "datasources.yml");
  std::set<std::string> provisioned;
  std::istringstream lines(yml);
  for (std::string line; std::getline(lines, line);) {
    // "  uid: prometheus" (optionally quoted)
    const std::size_t key = line.find_first_not_of(" \t");
    if (key == std::string::npos || line.compare(key, 4, "uid:") != 0) continue;
    std::string value = line.substr(key + 4);
    value.erase(0, value.find_first_not_of(" \t'\""));
    value.erase(value.find_last_not_of(" \t'\"\r") + 1);
    if (!value.empty()) provisioned.insert(value);
  }
  EXPECT_TRUE(provisioned.count("prometheus")) << yml;
  EXPECT_TRUE(provisioned.count("tempo")) << yml;

  std::set<std::string> used;
  collect_uids(d.doc, &used);
  EXPECT_FALSE(used.empty());
  for (const std::string& uid : used)
    EXPECT_TRUE(provisioned.count(uid)) << "the dashboard uses datasource uid '" << uid
                                         << "', which datasources.yml does not provision";
}

TEST(DeployFilesTest, EveryDashboardMetricIsExported) {
  const Dashboard d = load_dashboard();
  ASSERT_TRUE(d.doc.is_object()) << "the dashboard is not valid JSON";
  std::set<std::string> wanted;
  for (const std::string& e : d.exprs)
    for (const std::string& name : metric_names(e)) wanted.insert(name);
  ASSERT_GE(wanted.size(), 10u);

  TempDir dir;
  api::OrchestratorApp app(test_config(dir.path));
  ASSERT_EQ(app.start(), "");
  ApiClient client(app.base_url());
  HttpReply started = client.post("/v1/campaigns", sample_campaign("Dashboard Metrics"));
  ASSERT_EQ(started.status, 201) << started.raw;
  const std::string id = started.body.value("workflow_id", "");
  client.wait_for_status(id, "awaiting_approval");
  HttpReply approved = client.post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}});
  ASSERT_EQ(approved.status, 202) << approved.raw;
  EXPECT_EQ(client.wait_for_status(id, "completed").value("status", ""), "completed");
  // A trigger's series exist once it matched an event.
  ASSERT_EQ(client.post("/v1/customers", {{"id", "cus_001"}, {"phone", test_phone(1)}}).status,
            201);
  HttpReply trigger = client.post(
      "/v1/triggers", {{"name", "Dashboard"},
                       {"event_type", "purchase"},
                       {"action", {{"type", "reward"}, {"amount", 10}, {"currency", "USD"}}}});
  ASSERT_EQ(trigger.status, 201) << trigger.raw;
  HttpReply event = client.post("/v1/events", {{"event_id", "evt-1"},
                                               {"event_type", "purchase"},
                                               {"customer_id", "cus_001"},
                                               {"payload", {{"amount", 75}}}});
  ASSERT_EQ(event.status, 202) << event.raw;
  EXPECT_TRUE(eventually(
      [&] { return client.get("/v1/events/evt-1").body.value("status", "") == "processed"; }));

  HttpReply metrics = client.get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  // Names of the samples in the exposition (histograms: _bucket/_sum/_count).
  std::set<std::string> exported;
  std::istringstream lines(metrics.raw);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    exported.insert(line.substr(0, line.find_first_of("{ ")));
  }
  std::vector<std::string> missing;
  for (const std::string& name : wanted)
    if (!exported.count(name)) missing.push_back(name);
  std::string list;
  for (const std::string& m : missing) list += " " + m;
  EXPECT_TRUE(missing.empty()) << "metrics the dashboard queries but GET /metrics does not export "
                                  "after one completed campaign and one matched event:" << list;
}

}  // namespace
}  // namespace orch::testing
