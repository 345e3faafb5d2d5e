// Server configuration: defaults, then a JSON config file, then environment
// variables (CONTRACT.md: every key can be overridden by the environment).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "adapters/services/adapter_config.h"
#include "observability/otlp_exporter.h"
#include "api/server/auth.h"
#include "phases/campaign/campaign_definition.h"

namespace orch::api {

struct AppConfig {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::string store_url = "sqlite:./data/orchestrator.db";
  bool sandbox = false;                      // start the fake services in-process
  std::uint16_t sandbox_port = 0;            // 0 = ephemeral
  std::chrono::milliseconds sandbox_latency{0};
  std::string log_level = "info";
  phases::CampaignTuning tuning;
  // Bounded history: finished workflows older than the retention are deleted
  // (archived first to `archive_dir`/workflows-archive.jsonl when set) by a
  // background job; one workflow's journal is capped (see EngineLimits).
  std::chrono::hours retention{24 * 30};
  std::chrono::seconds retention_interval{3600};
  std::string archive_dir;
  std::uint64_t max_journal_records = 10'000;
  // A workflow waiting for a human leaves memory after this long idle (see
  // engine::EngineLimits); -1 keeps every workflow in memory.
  std::int64_t passivate_after_ms = 1'000;
  // The SQLite journal's log is copied back into the database by a thread of
  // its own once it holds this many pages; 0 leaves it to SQLite, inside the
  // journal writer's commits (see engine::StoreOptions).
  int journal_checkpoint_pages = 10'000;
  // Outbound HTTP (socket I/O, parsing) on a thread of its own, so the
  // engine thread only decides (see adapters/http/io_thread_transport.h). It pays
  // where cores are spare and calls wait on slow services (thousands in
  // flight); on a CPU-bound two-core machine the extra thread hop per call
  // cost throughput, so it is off by default.
  bool outbound_io_thread = false;
  // Messages of one broadcast in flight at once (config
  // broadcast_concurrency). Each holds a call of the messaging (or
  // sendgrid) service, whose bulkhead (max_concurrent, 64 by default) must
  // leave room: a send it refuses waits and is tried again.
  std::size_t broadcast_concurrency = 48;
  // Event-triggered campaigns (phases/triggers/): actions in flight at once
  // (config trigger_action_concurrency; the service's bulkhead must leave
  // room, as for broadcasts), attempts per action before it is
  // dead-lettered (trigger_action_attempts) and the first backoff
  // (trigger_action_backoff_ms, doubling, with full jitter, at most 30 s),
  // and how long an event for an unknown customer waits for it
  // (event_park_ttl_seconds) before it is dead-lettered as unknown_customer.
  std::size_t trigger_action_concurrency = 48;
  int trigger_action_attempts = 5;
  std::int64_t trigger_action_backoff_ms = 500;
  std::int64_t event_park_ttl_seconds = 86'400;
  // Where gateways reach this server (config public_url, e.g.
  // "https://orchestrator.example.com"): with it, every SMS and WhatsApp
  // message of a broadcast asks Twilio for delivery receipts at
  // <public_url>/v1/webhooks/twilio/status. "" = no receipts asked for.
  std::string public_url;
  // Entities (user actors) kept in memory at most (config
  // entity_max_resident): past it the least recently used leave, as do
  // those idle for 5 s, and those a broadcast is done with at the next
  // sweep; they are read back when needed.
  std::size_t entity_max_resident = 200'000;
  // Inbound connections the REST API holds at once (config max_connections,
  // env ORCH_MAX_CONNECTIONS); 0 derives it from the file limit (see
  // http::default_max_connections). Past it, see http::ServerLimits.
  std::size_t max_connections = 0;
  // HTTPS for the REST API (config tls_cert_file / tls_key_file, env
  // ORCH_TLS_CERT_FILE / ORCH_TLS_KEY_FILE): PEM files of the certificate
  // chain and its private key. Both set: the API speaks HTTPS only (probes
  // and the metrics scrape included); neither: plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  adapters::AdapterConfig adapters;          // ignored for services when sandbox
  // Traces over OTLP/HTTP: off (no tracer at all) unless `otlp.endpoint` is
  // set (config `otlp_endpoint`, env OTEL_EXPORTER_OTLP_ENDPOINT). The batch
  // processor's knobs follow the OTEL_BSP_* variables.
  observability::OtlpExporterOptions otlp;
  // Bearer tokens and roles of the REST API (on unless disabled).
  AuthConfig auth;
};

// Parses "HOST:PORT"; false on a malformed value.
bool parse_listen(const std::string& text, std::string* host, std::uint16_t* port);

// A server with the in-process sandbox on ephemeral ports and a fresh SQLite
// store in a new temporary directory `*dir` (the demo's and the benchmark's).
AppConfig throwaway_sandbox_config(const std::string& purpose, std::filesystem::path* dir);

// Applies OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME and the
// OTEL_BSP_* batch settings to `options`. Returns "" or what is wrong.
std::string apply_otel_env(observability::OtlpExporterOptions* options);

// Loads `path` (may be empty) over the defaults, then applies the
// environment. Returns "" or a description of what is wrong.
std::string load_config(const std::string& path, AppConfig* config);

}  // namespace orch::api
