#include "api/server/orchestrator_app.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdlib>
#include <thread>

#include "adapters/services/campaign_adapters.h"
#include "adapters/http/http_client.h"
#include "adapters/http/io_thread_transport.h"
#include "adapters/http/http_server.h"
#include "adapters/http/blocking_http.h"
#include "adapters/http/tracing_transport.h"
#include "adapters/sandbox/sandbox.h"
#include "api/routes/api_routes.h"
#include "engine/entity/entity_engine.h"
#include "engine/journal/journal.h"
#include "engine/workflow/workflow_engine.h"
#include "observability/log.h"
#include "observability/metrics.h"
#include "observability/otlp_exporter.h"
#include "phases/campaign/campaign_activities.h"
#include "phases/campaign/campaign_definition.h"
#include "engine/fanout/fan_out_runner.h"
#include "phases/broadcast/broadcasts.h"
#include "phases/triggers/event_triggers.h"
#include "phases/user_actor/user_actor.h"
#include "phases/user_actor/user_actor_gate.h"

namespace orch::api {

namespace net = boost::asio;
using observability::LogLevel;

struct OrchestratorApp::Impl {
  explicit Impl(AppConfig c, engine::Clock* clock) : config(std::move(c)), clock(clock) {
    if (!this->clock) {
      system_clock = std::make_unique<engine::SystemClock>();
      this->clock = system_clock.get();
    }
  }

  AppConfig config;
  engine::Clock* clock;
  std::unique_ptr<engine::SystemClock> system_clock;

  // Destroyed in reverse order: the io_contexts outlive everything on them.
  net::io_context io{1};
  net::io_context sandbox_io{1};
  std::unique_ptr<sandbox::Sandbox> sandbox;
  std::thread sandbox_thread;
  observability::Metrics metrics;
  std::unique_ptr<engine::JournalStore> store;
  std::unique_ptr<engine::Journal> journal;
  // Outbound HTTP: on its own thread (config outbound_io_thread, the
  // default) or on the engine's.
  std::unique_ptr<http::HttpTransport> client;
  http::IoThreadTransport* client_thread = nullptr;  // = client, when threaded
  // Tracing, only with an OTLP endpoint: the exporter with its own HTTP
  // client, and the transport that makes every adapter call a span.
  std::unique_ptr<http::BlockingHttp> otlp_http;
  std::unique_ptr<observability::OtlpExporter> spans;
  std::unique_ptr<http::TracingTransport> traced_client;
  std::unique_ptr<adapters::ServiceGuards> guards;
  std::unique_ptr<adapters::CampaignAdapters> adapters;
  engine::DefinitionRegistry definitions;
  engine::ActivityRegistry activities;
  std::unique_ptr<phases::user_actor::UserActorGate> recipients;  // over `entities`
  std::unique_ptr<engine::FanOutRunner> fan_outs;
  std::unique_ptr<phases::broadcast::Broadcasts> broadcasts;
  std::unique_ptr<phases::CampaignActivities> campaign;  // sends through `broadcasts`
  std::unique_ptr<engine::WorkflowEngine> engine;
  std::unique_ptr<phases::triggers::EventTriggers> triggers;  // starts campaigns on `engine`
  std::unique_ptr<engine::EntityEngine> entities;
  std::unique_ptr<Authenticator> auth;
  std::unique_ptr<ApiRoutes> routes;
  std::unique_ptr<http::HttpServer> server;
  std::unique_ptr<net::steady_timer> retention_timer;
  std::thread thread;
  std::size_t recovered = 0;
  std::function<void(const engine::WorkflowState&, const engine::JournalRecord&)> observer;
  bool started = false;
  bool stopped = false;
};

OrchestratorApp::OrchestratorApp(AppConfig config, engine::Clock* clock)
    : impl_(std::make_unique<Impl>(std::move(config), clock)) {}

OrchestratorApp::~OrchestratorApp() { stop(); }

std::string OrchestratorApp::start() {
  Impl& m = *impl_;
  LogLevel level;
  if (!observability::parse_log_level(m.config.log_level, &level))
    return "unknown log level '" + m.config.log_level + "'";
  observability::set_log_level(level);

  if (std::string e = Authenticator::validate(m.config.auth); !e.empty()) return e;
  m.auth = std::make_unique<Authenticator>(m.config.auth);

  std::string error;
  engine::StoreOptions store_options;
  store_options.wal_checkpoint_pages = m.config.journal_checkpoint_pages;
  // A store that lost committed data (sqlite_store_check.h) is refused here,
  // untouched; the operator decides, offline, whether to go on without it.
  m.store = engine::open_store(m.config.store_url, &error, store_options);
  if (!m.store) {
    if (error.rfind(engine::kJournalLossError, 0) == 0)
      error += " (`orchestrator journal verify --store " + m.config.store_url +
               "` reports it; `orchestrator journal accept-loss --store " + m.config.store_url +
               "` lets the next start go on with what is left)";
    return error;
  }
  // Integrity first, of what was written since the last clean shutdown: a
  // torn tail (the last commit) is dropped with a warning; a workflow with a
  // bad record before it is quarantined below, as it would be when read.
  // Older records are checked as they are read.
  engine::VerifyReport report;
  if (Status s = m.store->verify_since_clean_shutdown(/*repair=*/true, &report); !s)
    return s.message();
  m.journal = std::make_unique<engine::Journal>(*m.store, m.io);
  m.journal->set_commit_observer([metrics = &m.metrics](std::size_t appends, std::size_t records,
                                                        double seconds) {
    metrics->journal_committed(appends, records, seconds);
  });

  adapters::AdapterConfig adapter_config = m.config.adapters;
  // A CA file that does not load or a proxy URL that does not parse would
  // fail every call to its service: stop here instead.
  for (const auto& [name, endpoint] : adapter_config.services)
    if (auto settings = adapters::connection_settings(name, endpoint))
      if (std::string e = http::check_connection_settings(*settings); !e.empty())
        return "service " + name + ": " + e;
  log_proxy_environment();
  if (m.config.sandbox) {
    sandbox::SandboxOptions options;
    options.latency = m.config.sandbox_latency;
    m.sandbox = std::make_unique<sandbox::Sandbox>(m.sandbox_io, options);
    if (std::string e = m.sandbox->listen("127.0.0.1", m.config.sandbox_port); !e.empty())
      return "sandbox: " + e;
    m.sandbox_thread = std::thread([&m] { m.sandbox_io.run(); });
    adapter_config = adapters::AdapterConfig::pointing_at(m.sandbox->base_url());
    // URLs and tokens go to the sandbox; configured settings (breakers,
    // bulkheads, retries...) still apply, but never a proxy: the sandbox is
    // in this process, where no proxy could reach it.
    for (auto& [name, endpoint] : adapter_config.services) {
      if (auto it = m.config.adapters.services.find(name); it != m.config.adapters.services.end())
        for (const auto& [k, v] : it->second.settings) endpoint.settings[k] = v;
      endpoint.settings["proxy"] = "";
    }
  }
  if (m.config.outbound_io_thread) {
    auto threaded = std::make_unique<http::IoThreadTransport>(m.io);
    m.client_thread = threaded.get();
    m.client = std::move(threaded);
  } else {
    m.client = std::make_unique<http::HttpClient>(m.io);
  }
  if (!m.config.otlp.endpoint.empty()) start_tracing();
  m.adapters = std::make_unique<adapters::CampaignAdapters>(
      m.traced_client ? static_cast<http::HttpTransport&>(*m.traced_client) : *m.client,
      adapter_config);
  m.guards = std::make_unique<adapters::ServiceGuards>(adapter_config, *m.clock, &m.metrics);
  m.adapters->protect(
      *m.guards,
      [&io = m.io](std::chrono::milliseconds delay, std::function<void()> fn) {
        auto timer = std::make_shared<net::steady_timer>(io, delay);
        timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
          if (!ec) fn();
        });
      },
      &m.metrics);
  m.definitions.add(phases::campaign_definition(m.config.tuning));
  // The user actors come before the workflows: a campaign recovered below
  // may resume sending to its target users through them.
  engine::EntityLimits entity_limits;
  entity_limits.max_resident = m.config.entity_max_resident;
  m.entities = std::make_unique<engine::EntityEngine>(m.io, *m.journal, *m.clock, &m.metrics,
                                                      entity_limits);
  m.entities->add(phases::user_actor::user_actor_definition());
  m.recipients = std::make_unique<phases::user_actor::UserActorGate>(*m.entities);
  // Broadcasts: their workflows send through the same gateways and actors.
  // Before the campaign's activities: a campaign with an audience sends its
  // sms and whatsapp distribution as broadcasts.
  m.fan_outs = std::make_unique<engine::FanOutRunner>(m.io, *m.journal, *m.clock, &m.metrics);
  const phases::CampaignServices& services = m.adapters->services();
  m.broadcasts = std::make_unique<phases::broadcast::Broadcasts>(
      *m.journal, *m.fan_outs, *m.clock,
      phases::broadcast::BroadcastPorts{services.messaging, services.email, m.recipients.get()},
      phases::broadcast::BroadcastTuning{
          m.config.broadcast_concurrency, phases::broadcast::BroadcastTuning{}.retry,
          m.config.public_url.empty() ? "" : m.config.public_url + "/v1/webhooks/twilio/status"});
  m.definitions.add(m.broadcasts->definition());
  m.metrics.declare_fan_out("broadcast");
  m.broadcasts->register_activities(m.activities);
  m.campaign = std::make_unique<phases::CampaignActivities>(
      m.adapters->services(), m.recipients.get(), m.broadcasts.get());
  m.campaign->register_all(m.activities);
  engine::EngineLimits limits;
  limits.max_records_per_workflow = m.config.max_journal_records;
  limits.passivate_after_ms = m.config.passivate_after_ms;
  m.engine = std::make_unique<engine::WorkflowEngine>(m.io, *m.journal, *m.clock, m.definitions,
                                                      m.activities, &m.metrics, limits);
  if (m.observer) m.engine->set_record_observer(m.observer);
  if (m.spans) m.engine->set_span_sink(m.spans.get());
  // Recovery runs before the engine thread starts: no concurrent access.
  for (const auto& [workflow_id, why] : report.damaged) m.engine->quarantine(workflow_id, why);
  if (Status s = m.engine->recover(); !s) return "recovery failed: " + s.message();
  m.recovered = m.engine->active_count();
  // Event-triggered campaigns: their actions reward through the rewards
  // service, message through the broadcasts' path and start campaigns.
  phases::triggers::TriggerTuning trigger_tuning;
  trigger_tuning.action_concurrency = m.config.trigger_action_concurrency;
  trigger_tuning.retry.max_attempts = m.config.trigger_action_attempts;
  trigger_tuning.retry.initial_interval = std::chrono::milliseconds(m.config.trigger_action_backoff_ms);
  trigger_tuning.park_ttl = std::chrono::seconds(m.config.event_park_ttl_seconds);
  m.triggers = std::make_unique<phases::triggers::EventTriggers>(
      m.io, *m.journal, *m.fan_outs, *m.clock,
      phases::triggers::TriggerPorts{&m.adapters->rewards(), services.messaging, services.email,
                                     m.recipients.get(), m.engine.get(), m.spans.get(), &m.metrics},
      trigger_tuning);
  m.metrics.declare_events();
  if (Status s = m.triggers->start(); !s) return "event triggers: " + s.message();
  m.routes = std::make_unique<ApiRoutes>(
      ApiContext{*m.engine, *m.entities, *m.store, m.metrics, *m.clock, m.guards.get(), 0,
                 m.journal.get(), m.broadcasts.get(), m.triggers.get()},
      m.auth.get());
  http::ServerLimits server_limits;
  server_limits.max_connections = m.config.max_connections;
  m.server = std::make_unique<http::HttpServer>(
      m.io,
      [routes = m.routes.get()](http::Request r, http::Responder respond) {
        routes->handle(std::move(r), std::move(respond));
      },
      server_limits);
  if (!m.config.tls_cert_file.empty())
    if (std::string e = m.server->use_tls({m.config.tls_cert_file, m.config.tls_key_file});
        !e.empty())
      return e;
  m.server->on_refused([metrics = &m.metrics](http::ConnectionRefusal why) {
    switch (why) {
      case http::ConnectionRefusal::over_limit: return metrics->http_connection_refused("over_limit");
      case http::ConnectionRefusal::reserve: return metrics->http_connection_refused("reserve");
      case http::ConnectionRefusal::gave_way: return metrics->http_connection_refused("gave_way");
    }
  });
  if (std::string e = m.server->listen(m.config.listen_host, m.config.listen_port); !e.empty())
    return "listen " + m.config.listen_host + ":" + std::to_string(m.config.listen_port) + ": " + e;
  m.retention_timer = std::make_unique<net::steady_timer>(m.io);
  schedule_retention();
  m.thread = std::thread([&m] {
    auto guard = net::make_work_guard(m.io);
    m.io.run();
  });
  m.started = true;
  observability::log(LogLevel::info, "orchestrator listening",
                     {{"listen", m.config.listen_host + ":" + std::to_string(port())},
                      {"tls", m.server->tls()},
                      {"max_connections", m.server->max_connections()},
                      {"store", m.config.store_url},
                      {"sandbox", m.sandbox ? m.sandbox->base_url() : ""},
                      {"recovered_workflows", m.recovered}});
  return "";
}

namespace {
// "host:port" of a proxy URL (never its credentials), or what is wrong.
std::string proxy_address(const std::string& url) {
  std::string error;
  auto proxy = http::parse_proxy_url(url, &error);
  return proxy ? proxy->address() : "invalid: " + error;
}
}  // namespace

void OrchestratorApp::log_proxy_environment() {
  const http::ProxyEnvironment env = http::ProxyEnvironment::from_process();
  if (!env.https_proxy.empty() || !env.http_proxy.empty()) {
    observability::log(LogLevel::info, "outbound proxy from the environment",
                       {{"https", env.https_proxy.empty() ? "" : proxy_address(env.https_proxy)},
                        {"http", env.http_proxy.empty() ? "" : proxy_address(env.http_proxy)},
                        {"no_proxy", env.no_proxy}});
  }
  const char* upper = std::getenv("HTTP_PROXY");
  const char* lower = std::getenv("http_proxy");
  if (upper && *upper && !(lower && *lower))
    observability::log(LogLevel::warn,
                       "HTTP_PROXY is ignored, as curl ignores it (a CGI server sets it from a "
                       "request's Proxy header); set http_proxy for http:// services");
}

void OrchestratorApp::start_tracing() {
  Impl& m = *impl_;
  std::string endpoint = m.config.otlp.endpoint;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  m.otlp_http = std::make_unique<http::BlockingHttp>();
  auto post = [client = m.otlp_http.get(), endpoint](const std::string& body,
                                                      std::chrono::milliseconds timeout) {
    http::CallResult r = client->call(endpoint, "POST", "/v1/traces", body,
                                      {{"Content-Type", "application/json"}}, timeout);
    if (!r.ok()) return std::string(http::to_string(r.error)) + ": " + r.error_message;
    if (r.response.status / 100 != 2) return "HTTP " + std::to_string(r.response.status);
    return std::string();
  };
  m.spans = std::make_unique<observability::OtlpExporter>(m.config.otlp, std::move(post),
                                                          &m.metrics);
  m.traced_client = std::make_unique<http::TracingTransport>(*m.client, *m.spans);
}

observability::OtlpExporter* OrchestratorApp::span_exporter() { return impl_->spans.get(); }

namespace {
std::string archive_path(const AppConfig& c) {
  return c.archive_dir.empty() ? "" : c.archive_dir + "/workflows-archive.jsonl";
}
}  // namespace

void OrchestratorApp::schedule_retention() {
  Impl& m = *impl_;
  m.retention_timer->expires_after(m.config.retention_interval);
  m.retention_timer->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    Impl& m = *impl_;
    const engine::TimeMs cutoff =
        m.clock->now_ms() -
        std::chrono::duration_cast<std::chrono::milliseconds>(m.config.retention).count();
    m.engine->purge_finished(cutoff, kRetentionBatch, archive_path(m.config),
                             [this](const Status& s, std::size_t removed) {
                               if (!s)
                                 observability::log(LogLevel::error, "retention job failed",
                                                    {{"error", s.message()}});
                               else if (removed)
                                 observability::log(LogLevel::info, "retention removed workflows",
                                                    {{"removed", removed}});
                               schedule_retention();
                             });
  });
}

std::size_t OrchestratorApp::run_retention(std::string* error) {
  Impl& m = *impl_;
  std::promise<std::pair<Status, std::size_t>> result;
  net::post(m.io, [&] {
    const engine::TimeMs cutoff =
        m.clock->now_ms() -
        std::chrono::duration_cast<std::chrono::milliseconds>(m.config.retention).count();
    m.engine->purge_finished(cutoff, SIZE_MAX, archive_path(m.config),
                             [&](const Status& s, std::size_t n) { result.set_value({s, n}); });
  });
  auto [status, removed] = result.get_future().get();
  if (error) *error = status.message();
  return removed;
}

void OrchestratorApp::stop() {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  if (m.thread.joinable()) {
    net::post(m.io, [&m] {
      if (m.retention_timer) m.retention_timer->cancel();
      if (m.server) m.server->stop();
      m.io.stop();
    });
    m.thread.join();
  }
  // Then outbound calls: their results would only queue on the stopped engine.
  if (m.client_thread) m.client_thread->stop();
  if (m.sandbox_thread.joinable()) {
    net::post(m.sandbox_io, [&m] {
      m.sandbox->stop();
      m.sandbox_io.stop();
    });
    m.sandbox_thread.join();
  }
  // Order matters: nothing may call into the engine once it is gone; the
  // journal drains its queue (its callbacks are dropped with the io_context).
  m.server.reset();
  m.routes.reset();
  m.triggers.reset();
  m.entities.reset();
  m.engine.reset();
  m.journal.reset();
  m.campaign.reset();
  m.broadcasts.reset();
  m.fan_outs.reset();
  m.recipients.reset();
  m.adapters.reset();
  m.guards.reset();
  m.traced_client.reset();
  m.spans.reset();  // sends what is still queued
  m.otlp_http.reset();
  m.client.reset();
  m.store.reset();
}

std::uint16_t OrchestratorApp::port() const { return impl_->server ? impl_->server->port() : 0; }

std::string OrchestratorApp::base_url() const {
  const bool tls = impl_->server && impl_->server->tls();
  return (tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port());
}

sandbox::Sandbox* OrchestratorApp::sandbox() { return impl_->sandbox.get(); }
observability::Metrics& OrchestratorApp::metrics() { return impl_->metrics; }
std::size_t OrchestratorApp::recovered_workflows() const { return impl_->recovered; }

void OrchestratorApp::set_record_observer(
    std::function<void(const engine::WorkflowState&, const engine::JournalRecord&)> observer) {
  impl_->observer = std::move(observer);
}

void OrchestratorApp::run_on_engine(std::function<void()> fn) {
  std::promise<void> done;
  net::post(impl_->io, [&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

void OrchestratorApp::wait_until_durable() {
  std::promise<void> done;
  net::post(impl_->io, [&] { impl_->journal->flush([&](const Status&) { done.set_value(); }); });
  done.get_future().wait();
  // The commits flushed with it release what they held once their batch's
  // handler returns: one more turn of the engine's queue.
  run_on_engine([] {});
}

}  // namespace orch::api
