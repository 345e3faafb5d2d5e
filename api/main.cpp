// orchestrator: serve | sandbox | demo (CONTRACT.md "Binary and CLI").
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "adapters/sandbox/sandbox.h"
#include "api/bench.h"
#include "api/config.h"
#include "api/demo.h"
#include "api/orchestrator_app.h"

namespace {

namespace net = boost::asio;

void usage() {
  std::fprintf(stderr,
               "usage:\n"
               "  orchestrator serve [--config FILE] [--listen HOST:PORT] [--store URL] "
               "[--sandbox]\n"
               "  orchestrator sandbox [--listen HOST:PORT] [--latency MS]\n"
               "  orchestrator demo\n"
               "  orchestrator bench --workflows N --concurrency C [--latency MS]\n");
}

// Blocks until SIGINT or SIGTERM.
void wait_for_signal() {
  net::io_context io;
  net::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  io.run();
}

int serve(const std::vector<std::string>& args) {
  std::string config_path;
  for (std::size_t i = 0; i < args.size(); ++i)
    if (args[i] == "--config" && i + 1 < args.size()) config_path = args[i + 1];
  orch::api::AppConfig config;
  if (std::string e = orch::api::load_config(config_path, &config); !e.empty()) {
    std::fprintf(stderr, "orchestrator: %s\n", e.c_str());
    return 2;
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--config" && has_value) {
      ++i;
    } else if (a == "--listen" && has_value) {
      if (!orch::api::parse_listen(args[++i], &config.listen_host, &config.listen_port)) {
        std::fprintf(stderr, "orchestrator: --listen must be HOST:PORT\n");
        return 2;
      }
    } else if (a == "--store" && has_value) {
      config.store_url = args[++i];
    } else if (a == "--sandbox") {
      config.sandbox = true;
    } else {
      std::fprintf(stderr, "orchestrator serve: unknown argument '%s'\n", a.c_str());
      usage();
      return 2;
    }
  }
  orch::api::OrchestratorApp app(config);
  if (std::string e = app.start(); !e.empty()) {
    std::fprintf(stderr, "orchestrator: %s\n", e.c_str());
    return 1;
  }
  wait_for_signal();
  app.stop();
  return 0;
}

int sandbox(const std::vector<std::string>& args) {
  std::string host = "127.0.0.1";
  std::uint16_t port = 9090;
  orch::sandbox::SandboxOptions options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--listen" && i + 1 < args.size()) {
      if (!orch::api::parse_listen(args[++i], &host, &port)) {
        std::fprintf(stderr, "orchestrator sandbox: --listen must be HOST:PORT\n");
        return 2;
      }
    } else if (args[i] == "--latency" && i + 1 < args.size()) {
      options.latency = std::chrono::milliseconds(std::stol(args[++i]));
    } else {
      std::fprintf(stderr, "orchestrator sandbox: unknown argument '%s'\n", args[i].c_str());
      return 2;
    }
  }
  net::io_context io{1};
  orch::sandbox::Sandbox sb(io, options);
  if (std::string e = sb.listen(host, port); !e.empty()) {
    std::fprintf(stderr, "orchestrator sandbox: %s\n", e.c_str());
    return 1;
  }
  std::printf("{\"level\":\"info\",\"message\":\"sandbox listening\",\"url\":\"http://%s:%u\"}\n",
              host.c_str(), sb.port());
  std::fflush(stdout);
  net::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    sb.stop();
    io.stop();
  });
  io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    usage();
    return 2;
  }
  const std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "serve") return serve(args);
  if (command == "sandbox") return sandbox(args);
  if (command == "demo") return orch::api::run_demo();
  if (command == "bench") return orch::api::run_bench(args);
  usage();
  return 2;
}
