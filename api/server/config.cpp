#include "api/server/config.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace orch::api {

using nlohmann::json;

bool parse_listen(const std::string& text, std::string* host, std::uint16_t* port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size()) return false;
  const std::string p = text.substr(colon + 1);
  if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  const unsigned long n = std::stoul(p);
  if (n > 65535) return false;
  *host = text.substr(0, colon);
  *port = static_cast<std::uint16_t>(n);
  return true;
}

namespace {

// A service setting as the adapters read it: a string as it is, a number or
// a boolean as its JSON text ("4", "0.5", "true").
std::string setting_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  throw json::type_error::create(302, "must be a string, a number or a boolean, but is " +
                                          std::string(v.type_name()), &v);
}

// nlohmann's message without its "[json.exception.type_error.302] " prefix.
std::string type_message(const json::exception& e) {
  std::string text = e.what();
  const auto end = text.find("] ");
  return end == std::string::npos ? text : text.substr(end + 2);
}
// The most max_connections may name (the kernel caps descriptors lower).
constexpr std::int64_t kMaxConnections = 1 << 24;

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

// auth: {enabled?, open_paths?, tokens: [{id, subject, role, sha256}]}
std::string parse_auth(const json& value, AuthConfig* auth) {
  if (!value.is_object()) return "config: auth must be an object";
  for (const auto& [key, v] : value.items()) {
    if (key == "enabled") {
      auth->enabled = v.get<bool>();
    } else if (key == "open_paths") {
      auth->open_paths = v.get<std::vector<std::string>>();
    } else if (key == "tokens") {
      auth->tokens.clear();
      for (const json& t : v) {
        ApiToken token;
        token.id = t.at("id").get<std::string>();
        token.subject = t.at("subject").get<std::string>();
        auto role = parse_role(t.at("role").get<std::string>());
        if (!role)
          return "config: auth token '" + token.id +
                 "': role must be admin, operator, reviewer or viewer";
        token.role = *role;
        token.sha256 = t.at("sha256").get<std::string>();
        auth->tokens.push_back(std::move(token));
      }
    } else {
      return "config: unknown auth key '" + key + "'";
    }
  }
  return "";
}

// A non-negative whole number from the environment into `out`; false when
// malformed.
bool env_count(const char* name, std::int64_t* out) {
  const char* v = env(name);
  if (!v) return true;
  const std::string text = v;
  if (text.empty() || text.size() > 12 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  *out = std::stoll(text);
  return true;
}

}  // namespace

std::string apply_otel_env(observability::OtlpExporterOptions* o) {
  if (const char* v = env("OTEL_EXPORTER_OTLP_ENDPOINT")) o->endpoint = v;
  if (const char* v = env("OTEL_SERVICE_NAME")) o->service_name = v;
  std::int64_t delay = o->schedule_delay.count(), timeout = o->export_timeout.count();
  auto queue = static_cast<std::int64_t>(o->max_queue_size);
  auto batch = static_cast<std::int64_t>(o->max_export_batch_size);
  if (!env_count("OTEL_BSP_SCHEDULE_DELAY", &delay) ||
      !env_count("OTEL_BSP_EXPORT_TIMEOUT", &timeout) ||
      !env_count("OTEL_BSP_MAX_QUEUE_SIZE", &queue) ||
      !env_count("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", &batch))
    return "OTEL_BSP_* settings must be whole numbers";
  if (queue < 1 || batch < 1)
    return "OTEL_BSP_MAX_QUEUE_SIZE and OTEL_BSP_MAX_EXPORT_BATCH_SIZE must be at least 1";
  o->schedule_delay = std::chrono::milliseconds(delay);
  o->export_timeout = std::chrono::milliseconds(timeout);
  o->max_queue_size = static_cast<std::size_t>(queue);
  o->max_export_batch_size = static_cast<std::size_t>(batch);
  return "";
}

AppConfig throwaway_sandbox_config(const std::string& purpose, std::filesystem::path* dir) {
  *dir = std::filesystem::temp_directory_path() /
         ("orchestrator-" + purpose + "-" + std::to_string(::getpid()));
  std::filesystem::create_directories(*dir);
  AppConfig config;
  config.listen_port = 0;
  config.store_url = "sqlite:" + (*dir / "orchestrator.db").string();
  config.sandbox = true;
  config.log_level = "warn";
  // The demo and the benchmark export traces too when a collector is named.
  apply_otel_env(&config.otlp);
  config.auth.enabled = false;  // a local throwaway server; the demo says so
  return config;
}

std::string load_config(const std::string& path, AppConfig* c) {
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) return "cannot read config file " + path;
    std::stringstream text;
    text << in.rdbuf();
    json j = json::parse(text.str(), nullptr, false);
    if (!j.is_object()) return "config file " + path + " is not a JSON object";
    for (const auto& [key, value] : j.items()) {
      std::string where = key;  // what a wrong type is reported against
      try {
        if (key == "listen") {
          if (!parse_listen(value.get<std::string>(), &c->listen_host, &c->listen_port))
            return "config: listen must be HOST:PORT";
        } else if (key == "store") {
          c->store_url = value.get<std::string>();
        } else if (key == "sandbox") {
          c->sandbox = value.get<bool>();
        } else if (key == "sandbox_port") {
          const auto port = value.get<std::int64_t>();
          if (port < 0 || port > 65535) return "config: sandbox_port must be 0-65535";
          c->sandbox_port = static_cast<std::uint16_t>(port);
        } else if (key == "sandbox_latency_ms") {
          c->sandbox_latency = std::chrono::milliseconds(value.get<std::int64_t>());
        } else if (key == "log_level") {
          c->log_level = value.get<std::string>();
        } else if (key == "approval_timeout_seconds") {
          c->tuning.approval_timeout = std::chrono::milliseconds(
              static_cast<std::int64_t>(value.get<double>() * 1000));
        } else if (key == "retry_initial_interval_ms") {
          c->tuning.retry_initial_interval = std::chrono::milliseconds(value.get<std::int64_t>());
        } else if (key == "schedule_to_close_seconds") {
          c->tuning.schedule_to_close = std::chrono::milliseconds(
              static_cast<std::int64_t>(value.get<double>() * 1000));
        } else if (key == "non_retryable_statuses") {
          c->tuning.non_retryable_statuses = value.get<std::vector<int>>();
        } else if (key == "non_retryable_errors") {
          c->tuning.non_retryable_errors = value.get<std::vector<std::string>>();
        } else if (key == "pause_on_exhausted") {
          c->tuning.pause_on_exhausted = value.get<std::vector<std::string>>();
        } else if (key == "retention_days") {
          c->retention = std::chrono::hours(24 * value.get<std::int64_t>());
        } else if (key == "retention_interval_seconds") {
          c->retention_interval = std::chrono::seconds(value.get<std::int64_t>());
        } else if (key == "archive_dir") {
          c->archive_dir = value.get<std::string>();
        } else if (key == "max_journal_records") {
          c->max_journal_records = value.get<std::uint64_t>();
          if (c->max_journal_records < 100) return "config: max_journal_records must be >= 100";
        } else if (key == "max_connections") {
          const auto n = value.get<std::int64_t>();
          if (n < 0 || n > kMaxConnections)
            return "config: max_connections must be between 0 (from the file limit) and " +
                   std::to_string(kMaxConnections);
          c->max_connections = static_cast<std::size_t>(n);
        } else if (key == "tls_cert_file") {
          c->tls_cert_file = value.get<std::string>();
        } else if (key == "tls_key_file") {
          c->tls_key_file = value.get<std::string>();
        } else if (key == "outbound_io_thread") {
          c->outbound_io_thread = value.get<bool>();
        } else if (key == "entity_max_resident") {
          const auto n = value.get<std::int64_t>();
          if (n < 1 || n > 100'000'000)
            return "config: entity_max_resident must be between 1 and 100000000";
          c->entity_max_resident = static_cast<std::size_t>(n);
        } else if (key == "public_url") {
          c->public_url = value.get<std::string>();
          if (!c->public_url.empty() && c->public_url.rfind("http://", 0) != 0 &&
              c->public_url.rfind("https://", 0) != 0)
            return "config: public_url must start with http:// or https://";
          while (!c->public_url.empty() && c->public_url.back() == '/') c->public_url.pop_back();
        } else if (key == "broadcast_concurrency") {
          const auto n = value.get<std::int64_t>();
          if (n < 1 || n > 100'000)
            return "config: broadcast_concurrency must be between 1 and 100000";
          c->broadcast_concurrency = static_cast<std::size_t>(n);
        } else if (key == "trigger_action_concurrency") {
          const auto n = value.get<std::int64_t>();
          if (n < 1 || n > 100'000)
            return "config: trigger_action_concurrency must be between 1 and 100000";
          c->trigger_action_concurrency = static_cast<std::size_t>(n);
        } else if (key == "trigger_action_attempts") {
          const auto n = value.get<std::int64_t>();
          if (n < 1 || n > 100) return "config: trigger_action_attempts must be between 1 and 100";
          c->trigger_action_attempts = static_cast<int>(n);
        } else if (key == "trigger_action_backoff_ms") {
          c->trigger_action_backoff_ms = value.get<std::int64_t>();
          if (c->trigger_action_backoff_ms < 0 || c->trigger_action_backoff_ms > 3'600'000)
            return "config: trigger_action_backoff_ms must be between 0 and 3600000";
        } else if (key == "event_park_ttl_seconds") {
          c->event_park_ttl_seconds = value.get<std::int64_t>();
          if (c->event_park_ttl_seconds < 1 || c->event_park_ttl_seconds > 366 * 86'400)
            return "config: event_park_ttl_seconds must be between 1 and 31622400";
        } else if (key == "passivate_after_ms") {
          c->passivate_after_ms = value.get<std::int64_t>();
          if (c->passivate_after_ms < -1)
            return "config: passivate_after_ms must be >= 0, or -1 (never)";
        } else if (key == "journal_checkpoint_pages") {
          const auto pages = value.get<std::int64_t>();
          if (pages < 0 || pages > 1'000'000)
            return "config: journal_checkpoint_pages must be between 0 and 1000000";
          c->journal_checkpoint_pages = static_cast<int>(pages);
        } else if (key == "auth") {
          if (std::string e = parse_auth(value, &c->auth); !e.empty()) return e;
        } else if (key == "otlp_endpoint") {
          c->otlp.endpoint = value.get<std::string>();
        } else if (key == "otlp_schedule_delay_ms") {
          c->otlp.schedule_delay = std::chrono::milliseconds(value.get<std::uint32_t>());
        } else if (key == "otlp_export_timeout_ms") {
          c->otlp.export_timeout = std::chrono::milliseconds(value.get<std::uint32_t>());
        } else if (key == "otlp_max_queue_size") {
          c->otlp.max_queue_size = std::max<std::size_t>(1, value.get<std::uint32_t>());
        } else if (key == "otlp_max_export_batch_size") {
          c->otlp.max_export_batch_size = std::max<std::size_t>(1, value.get<std::uint32_t>());
        } else if (key == "services") {
          for (const auto& [name, svc] : value.items()) {
            adapters::ServiceEndpoint& ep = c->adapters.services[name];
            if (svc.contains("url")) ep.base_url = svc["url"].get<std::string>();
            if (svc.contains("token")) ep.token = svc["token"].get<std::string>();
            if (!svc.contains("settings")) continue;
            for (const auto& [k, v] : svc["settings"].items()) {
              where = "services." + name + ".settings." + k;
              ep.settings[k] = setting_text(v);
            }
          }
        } else {
          return "config: unknown key '" + key + "'";
        }
      } catch (const json::exception& e) {
        return "config file " + path + ": '" + where + "' has the wrong type: " +
               type_message(e);
      }
    }
  }
  if (const char* v = env("ORCH_LISTEN"))
    if (!parse_listen(v, &c->listen_host, &c->listen_port)) return "ORCH_LISTEN must be HOST:PORT";
  if (const char* v = env("ORCH_STORE")) c->store_url = v;
  if (const char* v = env("ORCH_LOG_LEVEL")) c->log_level = v;
  if (const char* v = env("ORCH_TLS_CERT_FILE")) c->tls_cert_file = v;
  if (const char* v = env("ORCH_TLS_KEY_FILE")) c->tls_key_file = v;
  if (c->tls_cert_file.empty() != c->tls_key_file.empty())
    return "tls_cert_file and tls_key_file (ORCH_TLS_CERT_FILE, ORCH_TLS_KEY_FILE) go together";
  std::int64_t max_connections = static_cast<std::int64_t>(c->max_connections);
  if (!env_count("ORCH_MAX_CONNECTIONS", &max_connections) || max_connections > kMaxConnections)
    return "ORCH_MAX_CONNECTIONS must be a whole number up to " + std::to_string(kMaxConnections);
  c->max_connections = static_cast<std::size_t>(max_connections);
  c->adapters = adapters::AdapterConfig::from_env(c->adapters);
  return apply_otel_env(&c->otlp);
}

}  // namespace orch::api
