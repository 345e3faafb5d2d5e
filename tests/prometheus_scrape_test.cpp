// A real Prometheus (the Debian package's /usr/bin/prometheus) scrapes a real
// orchestrator: after N campaigns complete, Prometheus's query API reports
// exactly N completed workflow executions.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kPrometheus = "/usr/bin/prometheus";
constexpr int kCampaigns = 5;

// A port free at the time of asking (bound to 127.0.0.1:0, then released).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

std::string url_encode(const std::string& in) {
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

class PrometheusScrapeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kPrometheus))
        << kPrometheus << " is missing: run deploy/install-deps.sh "
        << "(it installs the Debian package 'prometheus')";

    app_ = std::make_unique<api::OrchestratorApp>(test_config(dir_.path));
    ASSERT_EQ(app_->start(), "");
    client_ = std::make_unique<ApiClient>(app_->base_url());

    prom_port_ = free_port();
    ASSERT_GT(prom_port_, 0);
    const fs::path config = dir_.path / "prometheus.yml";
    std::ofstream(config) << "global:\n"
                             "  scrape_interval: 1s\n"
                             "  evaluation_interval: 1s\n"
                             "scrape_configs:\n"
                             "  - job_name: orchestrator\n"
                             "    scrape_interval: 1s\n"
                             "    static_configs:\n"
                             "      - targets: ['127.0.0.1:"
                          << app_->port() << "']\n";
    fs::create_directories(dir_.path / "tsdb");
    log_ = dir_.path / "prometheus.log";
    const std::string args[] = {
        kPrometheus,
        "--config.file=" + config.string(),
        "--storage.tsdb.path=" + (dir_.path / "tsdb").string(),
        "--web.listen-address=127.0.0.1:" + std::to_string(prom_port_),
        "--log.level=warn",
    };
    // Everything the child needs is built before fork (the orchestrator's
    // threads are running; the child only calls async-signal-safe functions).
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_ = ::fork();
    ASSERT_GE(pid_, 0) << "fork failed";
    if (pid_ == 0) {
      const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
        ::close(fd);
      }
      ::execv(kPrometheus, argv.data());
      ::_exit(127);
    }
    prom_url_ = "http://127.0.0.1:" + std::to_string(prom_port_);
  }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      // Prometheus shuts down in well under a second; SIGKILL if it hangs.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, &status, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      pid_ = -1;
    }
    client_.reset();
    app_.reset();
  }

  // Runs one instant query; returns the first sample's value, or -1 when
  // Prometheus is not up yet or the result is empty.
  double query(const std::string& promql, std::string* raw) {
    http::CallResult r = prom_.call(prom_url_, "GET", "/api/v1/query?query=" + url_encode(promql),
                                    "", {}, std::chrono::seconds(5));
    if (!r.ok() || r.response.status != 200) {
      *raw = r.ok() ? r.response.body : r.error_message;
      return -1;
    }
    *raw = r.response.body;
    const json body = json::parse(r.response.body, nullptr, false);
    if (!body.is_object() || body.value("status", "") != "success") return -1;
    const json& result = body["data"]["result"];
    if (!result.is_array() || result.empty()) return -1;
    return std::stod(result[0]["value"][1].get<std::string>());
  }

  std::string prometheus_log() { return read_file(log_); }

  TempDir dir_;
  std::unique_ptr<api::OrchestratorApp> app_;
  std::unique_ptr<ApiClient> client_;
  http::BlockingHttp prom_;
  pid_t pid_ = -1;
  int prom_port_ = -1;
  std::string prom_url_;
  fs::path log_;
};

TEST_F(PrometheusScrapeTest, CountsEveryCompletedCampaign) {
  std::vector<std::string> ids;
  for (int i = 0; i < kCampaigns; ++i) {
    HttpReply r = client_->post("/v1/campaigns", sample_campaign("Scrape " + std::to_string(i)));
    ASSERT_EQ(r.status, 201) << r.raw;
    ids.push_back(r.body.value("workflow_id", ""));
  }
  for (const std::string& id : ids) {
    client_->wait_for_status(id, "awaiting_approval");
    HttpReply r = client_->post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}});
    ASSERT_EQ(r.status, 202) << r.raw;
  }
  for (const std::string& id : ids)
    ASSERT_EQ(client_->wait_for_status(id, "completed").value("status", ""), "completed");

  const std::string promql = R"(sum(workflow_executions_total{status="completed"}))";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  double value = -1;
  std::string raw;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid_, &status, WNOHANG), 0)
        << "prometheus exited early; its log:\n" << prometheus_log();
    value = query(promql, &raw);
    if (value >= kCampaigns) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_EQ(value, static_cast<double>(kCampaigns))
      << "last answer: " << raw << "\nprometheus log:\n" << prometheus_log();

  // The scrape target is healthy.
  const double up = query(R"(up{job="orchestrator"})", &raw);
  EXPECT_EQ(up, 1.0) << raw;
}

}  // namespace
}  // namespace orch::testing
