// The sandbox: in-process fakes of every external service a campaign talks to
// (Notion, the tool service, the memory gateway, an OpenAI-compatible model,
// Figma, GitHub, Slack, SendGrid, Buffer, Grafana, Twilio and FCM), answering
// on the same paths, with the same auth headers and JSON shapes as the real
// public APIs, so the orchestrator can point at either.
//
// Its core is an idempotency ledger: the first successful request carrying a
// given `Idempotency-Key` ("{workflow_id}:{step}" or
// "{workflow_id}:{step}:compensate") applies its side effect, is appended to
// the ledger and has its response cached; a repeat returns the cached response
// and only bumps that entry's replay counter. Faults (status, latency, count,
// Retry-After, per workflow) can be injected over HTTP under /sandbox/.
//
// HTTP control endpoints (never ledgered, never faulted):
//   GET    /health
//   GET    /sandbox/ledger            {"side_effects","compensations","replays",
//                                      "faults_injected","workflows"}
//   GET    /sandbox/ledger/{wf}       {"workflow_id","side_effects":[...],
//                                      "compensations":[...]}  (404 if none)
//   POST   /sandbox/faults            -> 201 {"id":...}
//   GET    /sandbox/faults            {"faults":[...]}
//   DELETE /sandbox/faults[/{id}]
//   GET|PUT /sandbox/config           {"latency_ms","failure_rate"}
//   POST   /sandbox/reset
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "adapters/http_message.h"
#include "adapters/http_server.h"

namespace boost::asio {
class io_context;
}

namespace orch::sandbox {

struct SandboxOptions {
  std::chrono::milliseconds latency{0};  // added before every fake-service answer
  double failure_rate = 0.0;             // probability of a random 503
  uint64_t seed = 42;                    // for failure_rate and fault rates < 1
};

class Sandbox {
 public:
  explicit Sandbox(boost::asio::io_context& io, SandboxOptions options = {});
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  // Starts an orch::http::HttpServer on host:port (0 = ephemeral).
  // Returns "" on success, otherwise the failure.
  std::string listen(const std::string& host, uint16_t port);
  uint16_t port() const;
  std::string base_url() const;  // "http://127.0.0.1:<port>"
  // Stops the HTTP server (idempotent). State is kept.
  void stop();

  // The request handler. Thread-safe; answers synchronously unless latency
  // applies, in which case `respond` is called from a steady_timer on the
  // io_context given to the constructor.
  void handle(http::Request req, http::Responder respond);

  // Thread-safe snapshots, same JSON as GET /sandbox/ledger and
  // GET /sandbox/ledger/{id} (for an unknown id: empty arrays).
  nlohmann::json ledger_summary() const;
  nlohmann::json ledger_for(const std::string& workflow_id) const;

  // Clears ledger, stored objects, faults and counters (as POST /sandbox/reset).
  void reset();

  struct State;  // implementation detail (adapters/sandbox/sandbox_state.h)

 private:
  boost::asio::io_context& io_;
  std::shared_ptr<State> state_;
  std::unique_ptr<http::HttpServer> server_;
};

}  // namespace orch::sandbox
