// The orchestrator process assembled: store, group-commit journal, engine,
// campaign definition and activities, adapters (or the in-process sandbox)
// and the REST server. Used by `serve`, `demo`, and the tests, which start it
// on 127.0.0.1 with ephemeral ports.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <string>

#include "api/server/config.h"
#include "engine/time/clock.h"
#include "engine/journal/journal_record.h"
#include "engine/workflow/workflow_state.h"

namespace orch::sandbox {
class Sandbox;
}
namespace orch::observability {
class Metrics;
class OtlpExporter;
}

namespace orch::api {

class OrchestratorApp {
 public:
  // `clock` may be null (system clock); when given it must outlive the app.
  explicit OrchestratorApp(AppConfig config, engine::Clock* clock = nullptr);
  ~OrchestratorApp();  // stops
  OrchestratorApp(const OrchestratorApp&) = delete;
  OrchestratorApp& operator=(const OrchestratorApp&) = delete;

  // Opens the store, recovers unfinished workflows, starts the sandbox when
  // configured and listens. Runs the engine on its own thread. Returns "" on
  // success or what went wrong.
  std::string start();
  // Stops serving and joins the threads. Idempotent.
  void stop();

  std::uint16_t port() const;
  // "http://127.0.0.1:<port>", or "https://..." with tls_cert_file set.
  std::string base_url() const;
  sandbox::Sandbox* sandbox();
  observability::Metrics& metrics();
  std::size_t recovered_workflows() const;

  // Test hook, before start(): sees every journal record as it is folded
  // into a workflow's live state (on the engine thread).
  void set_record_observer(
      std::function<void(const engine::WorkflowState&, const engine::JournalRecord&)> observer);

  // Runs the retention job once now and waits; returns how many finished
  // workflows were removed (or an error).
  std::size_t run_retention(std::string* error = nullptr);

  // Runs `fn` on the engine thread and waits for it (tests, the demo).
  void run_on_engine(std::function<void()> fn);
  // Waits until everything the engine has appended so far is durable and
  // the engine has run the commits' callbacks (tests).
  void wait_until_durable();

  // The span exporter, or null when tracing is off (no OTLP endpoint).
  observability::OtlpExporter* span_exporter();

 private:
  void schedule_retention();
  void start_tracing();
  // Says which proxies the environment names for outbound calls (their
  // addresses only) and warns about an upper-case HTTP_PROXY, which is
  // ignored.
  static void log_proxy_environment();
  static constexpr std::size_t kRetentionBatch = 1000;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orch::api
