// orchestrator: serve | sandbox | demo (CONTRACT.md "Binary and CLI").
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

#include "adapters/sandbox/sandbox.h"
#include "api/cli/bench.h"
#include "api/server/config.h"
#include "api/cli/demo.h"
#include "api/cli/stop_signal.h"
#include "api/server/orchestrator_app.h"
#include "engine/common/digest.h"
#include "engine/journal/journal_store.h"

#include <nlohmann/json.hpp>

namespace {

namespace net = boost::asio;

void usage(FILE* out = stderr) {
  std::fprintf(out,
               "usage:\n"
               "  orchestrator serve [--config FILE] [--listen HOST:PORT] [--store URL] "
               "[--sandbox] [--sandbox-port PORT] [--no-auth]\n"
               "  orchestrator auth hash-token      (reads a token on stdin, prints its SHA-256)\n"
               "  orchestrator sandbox [--listen HOST:PORT] [--latency MS] "
               "[--tls-cert FILE --tls-key FILE]\n"
               "  orchestrator demo [--keep-serving] [--listen HOST:PORT]\n"
               "  orchestrator journal verify --store URL\n"
               "  orchestrator journal accept-loss --store URL\n"
               "  orchestrator bench --workflows N --concurrency C [--parked M] [--park-only]\n"
               "                     [--fail-rate R] [--poison-rate R] [--deadline SECONDS]\n"
               "                     [--latency MS] [--tls] [--outbound-io-thread] [--keep]\n"
               "  orchestrator bench --reservations N --users U [--concurrency C] [--idle-users M]\n"
               "  orchestrator bench --events N [--customers C] [--batch B] [--rate R]\n"
               "                     [--rate-seconds S] [--backlog M] [--concurrency A]\n"
               "                     [--latency MS] [--keep]\n");
}

// glibc's per-thread malloc cache keeps 7 free chunks per size class by
// default. The engine, the HTTP layer and the sandbox allocate and free
// bursts of same-sized JSON nodes, strings and handlers; past 7 they spill
// into the fastbins and malloc_consolidate, about 15 % of the CPU under load
// (perf). A cache of 1,024 per class cut the CPU per campaign by 10-15 % in
// the benchmark, for a few MiB of RSS. Bursts larger than that (a finished
// workflow's state, thousands of campaigns in flight) still reached the
// fastbins, and each allocation above the cache's 1,032-byte limit (request
// and response buffers, a workflow's step table) then paid a
// malloc_consolidate: 3.4 % of the engine thread at --concurrency 2000.
// mxfast=0 turns the fastbins off. (Until the fix below, processes started
// by a tuned one, the benchmark's server and sandbox among them, ran with
// the cache only, so the A/B pairs once quoted for mxfast measured the bench
// client alone. With it, callgrind counts the same instructions per
// campaign, 2,454k and 2,447k, and the pairs are even.)
// A cache of 8,192 per class: at 1,024 a finished workflow's state and the
// bursts of a group commit's callbacks still overflowed it, and the engine
// thread refilled from the arena (callgrind, 4,000 campaigns: _int_malloc
// 160M -> 40M instructions, the orchestrator 7,974M -> 7,780M, -2.4 %; 65,535
// gained no more). RSS per parked campaign 1,916 -> 1,932 bytes.
// glibc reads tunables only when a process starts, so the process sets
// them and executes itself once more; a GLIBC_TUNABLES already in the
// environment (the operator's choice) is left alone, and a failed exec
// just runs untuned.
void tune_malloc(char** argv) {
  static constexpr const char* kTunables = "glibc.malloc.tcache_count=8192:glibc.malloc.mxfast=0";
  static constexpr const char* kTuned = "ORCH_MALLOC_TUNED";
  if (std::getenv(kTuned)) {
    // glibc parses GLIBC_TUNABLES in place and leaves only the first tunable
    // in the environment (it ends the string at the ':'), so the processes
    // this one starts (the benchmark's server and sandbox) would run with
    // the fastbins on. They get the whole setting again.
    ::setenv("GLIBC_TUNABLES", kTunables, 1);
    return;
  }
  if (std::getenv("GLIBC_TUNABLES") || std::getenv("ORCH_NO_MALLOC_TUNING")) return;
  // The binary's own path, so the process keeps its name (ps, pkill).
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return;
  self[n] = '\0';
  ::setenv("GLIBC_TUNABLES", kTunables, 1);
  ::setenv(kTuned, "1", 1);
  ::execv(self, argv);
  ::unsetenv("GLIBC_TUNABLES");
  ::unsetenv(kTuned);
}

// auth hash-token: the token comes on stdin so it stays out of shell history
// and process listings; the hash goes into the config's auth.tokens.
int auth(const std::vector<std::string>& args) {
  if (args.size() != 1 || args[0] != "hash-token") {
    std::fprintf(stderr, "usage: orchestrator auth hash-token < token-file\n");
    return 2;
  }
  std::string token;
  std::getline(std::cin, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) {
    std::fprintf(stderr, "orchestrator auth hash-token: no token on stdin\n");
    return 2;
  }
  std::printf("%s\n", orch::sha256_hex(token).c_str());
  return 0;
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
    } else if (a == "--sandbox-port" && has_value) {
      int port = -1;
      try {
        port = std::stoi(args[++i]);
      } catch (const std::exception&) {
      }
      if (port < 0 || port > 65535) {
        std::fprintf(stderr, "orchestrator: --sandbox-port must be 0-65535\n");
        return 2;
      }
      config.sandbox_port = static_cast<std::uint16_t>(port);
    } else if (a == "--no-auth") {
      config.auth.enabled = false;
    } else {
      std::fprintf(stderr, "orchestrator serve: unknown argument '%s'\n", a.c_str());
      usage();
      return 2;
    }
  }
  if (!config.auth.enabled)
    std::fprintf(stderr,
                 "orchestrator: authentication is OFF: anyone who reaches %s:%u may start, "
                 "approve and cancel campaigns\n",
                 config.listen_host.c_str(), static_cast<unsigned>(config.listen_port));
  orch::api::OrchestratorApp app(config);
  if (std::string e = app.start(); !e.empty()) {
    std::fprintf(stderr, "orchestrator: %s\n", e.c_str());
    return 1;
  }
  orch::api::wait_for_stop_signal();
  app.stop();
  return 0;
}

// Exit codes of `orchestrator journal verify`.
constexpr int kJournalSound = 0;
constexpr int kJournalBad = 1;  // corrupt records, a torn last commit, or unreadable
constexpr int kJournalUsage = 2;
constexpr int kJournalLost = 3;  // committed data is missing

// orchestrator journal verify --store URL: offline check, changing nothing;
// exit 0 when sound, 3 when committed data is missing (a damaged or cut log,
// a truncated or replaced database), 1 for anything else wrong.
// orchestrator journal accept-loss --store URL: records that the data such a
// store lost is gone, so the next start goes on with what is left.
int journal(const std::vector<std::string>& args) {
  std::string url;
  if (args.size() == 3 && (args[0] == "verify" || args[0] == "accept-loss") && args[1] == "--store")
    url = args[2];
  if (url.empty()) {
    std::fprintf(stderr,
                 "usage: orchestrator journal verify --store URL\n"
                 "       orchestrator journal accept-loss --store URL\n");
    return kJournalUsage;
  }
  if (args[0] == "accept-loss") {
    std::string error;
    orch::engine::StoreOptions options;
    options.on_loss = orch::engine::OnJournalLoss::accept;
    options.wal_checkpoint_pages = 0;  // open and close only
    auto store = orch::engine::open_store(url, &error, options);
    if (!store) {
      std::fprintf(stderr, "orchestrator journal accept-loss: %s\n", error.c_str());
      return kJournalBad;
    }
    orch::engine::VerifyReport report;
    if (orch::Status s = store->verify(/*repair=*/false, &report); !s) {
      std::fprintf(stderr, "orchestrator journal accept-loss: %s\n", s.message().c_str());
      return kJournalBad;
    }
    nlohmann::json out = {{"store", url},
                          {"records", report.records},
                          {"workflows", report.workflows},
                          {"accepted", report.warnings}};
    std::printf("%s\n", out.dump().c_str());
    return kJournalSound;
  }
  orch::engine::VerifyReport report;
  if (orch::Status s = orch::engine::verify_store(url, &report); !s) {
    std::fprintf(stderr, "orchestrator journal verify: %s\n", s.message().c_str());
    return kJournalBad;
  }
  nlohmann::json out = {{"store", url},
                        {"records", report.records},
                        {"workflows", report.workflows},
                        {"commits", report.commits},
                        {"torn_tail_records", report.torn_tail},
                        {"data_lost", !report.lost.empty()},
                        {"sound", report.sound()}};
  nlohmann::json figures = nlohmann::json::object();
  for (const auto& [name, value] : report.figures) figures[name] = value;
  out["found"] = figures;
  if (!report.corrupt.empty()) out["error"] = report.corrupt;
  if (!report.damaged.empty()) out["damaged_workflows"] = report.damaged;  // a start quarantines them
  if (!report.lost.empty()) out["lost"] = report.lost;
  if (!report.warnings.empty()) out["warnings"] = report.warnings;
  std::printf("%s\n", out.dump().c_str());
  for (const std::string& line : report.lost) std::fprintf(stderr, "lost: %s\n", line.c_str());
  for (const std::string& line : report.warnings)
    std::fprintf(stderr, "warning: %s\n", line.c_str());
  if (!report.corrupt.empty()) std::fprintf(stderr, "%s\n", report.corrupt.c_str());
  if (report.torn_tail)
    std::fprintf(stderr, "torn tail: the last commit has %llu bad record(s); a start drops it\n",
                 static_cast<unsigned long long>(report.torn_tail));
  if (!report.lost.empty()) {
    std::fprintf(stderr,
                 "committed data is missing: a start refuses this store; `orchestrator journal "
                 "accept-loss --store %s` lets it go on with what is left\n",
                 url.c_str());
    return kJournalLost;
  }
  return report.sound() ? kJournalSound : kJournalBad;
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
    } else if (args[i] == "--tls-cert" && i + 1 < args.size()) {
      options.tls.cert_chain_file = args[++i];
    } else if (args[i] == "--tls-key" && i + 1 < args.size()) {
      options.tls.private_key_file = args[++i];
    } else {
      std::fprintf(stderr, "orchestrator sandbox: unknown argument '%s'\n", args[i].c_str());
      return 2;
    }
  }
  if (options.tls.cert_chain_file.empty() != options.tls.private_key_file.empty()) {
    std::fprintf(stderr, "orchestrator sandbox: --tls-cert and --tls-key go together\n");
    return 2;
  }
  net::io_context io{1};
  orch::sandbox::Sandbox sb(io, options);
  if (std::string e = sb.listen(host, port); !e.empty()) {
    std::fprintf(stderr, "orchestrator sandbox: %s\n", e.c_str());
    return 1;
  }
  std::printf("{\"level\":\"info\",\"message\":\"sandbox listening\",\"url\":\"%s://%s:%u\"}\n",
              options.tls.cert_chain_file.empty() ? "http" : "https", host.c_str(), sb.port());
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
  tune_malloc(argv);
  std::signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    usage();
    return 2;
  }
  const std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  // `orchestrator --help` and `orchestrator COMMAND --help`: the usage, exit 0.
  const bool help = command == "--help" || command == "-h" || command == "help" ||
                    std::find(args.begin(), args.end(), "--help") != args.end();
  if (help) {
    usage(stdout);
    std::printf("\nReference: docs/reference/cli.md\n");
    return 0;
  }
  if (command == "serve") return serve(args);
  if (command == "sandbox") return sandbox(args);
  if (command == "demo") return orch::api::run_demo(args);
  if (command == "bench") return orch::api::run_bench(args);
  if (command == "journal") return journal(args);
  if (command == "auth") return auth(args);
  usage();
  return 2;
}
