#include "api/config.h"

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
const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}
}  // namespace

AppConfig throwaway_sandbox_config(const std::string& purpose, std::filesystem::path* dir) {
  *dir = std::filesystem::temp_directory_path() /
         ("orchestrator-" + purpose + "-" + std::to_string(::getpid()));
  std::filesystem::create_directories(*dir);
  AppConfig config;
  config.listen_port = 0;
  config.store_url = "sqlite:" + (*dir / "orchestrator.db").string();
  config.sandbox = true;
  config.log_level = "warn";
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
    try {
      for (const auto& [key, value] : j.items()) {
        if (key == "listen") {
          if (!parse_listen(value.get<std::string>(), &c->listen_host, &c->listen_port))
            return "config: listen must be HOST:PORT";
        } else if (key == "store") {
          c->store_url = value.get<std::string>();
        } else if (key == "sandbox") {
          c->sandbox = value.get<bool>();
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
        } else if (key == "services") {
          for (const auto& [name, svc] : value.items()) {
            adapters::ServiceEndpoint& ep = c->adapters.services[name];
            if (svc.contains("url")) ep.base_url = svc["url"].get<std::string>();
            if (svc.contains("token")) ep.token = svc["token"].get<std::string>();
            if (svc.contains("settings"))
              for (const auto& [k, v] : svc["settings"].items())
                ep.settings[k] = v.get<std::string>();
          }
        } else {
          return "config: unknown key '" + key + "'";
        }
      }
    } catch (const json::exception& e) {
      return "config file " + path + ": wrong type: " + e.what();
    }
  }
  if (const char* v = env("ORCH_LISTEN"))
    if (!parse_listen(v, &c->listen_host, &c->listen_port)) return "ORCH_LISTEN must be HOST:PORT";
  if (const char* v = env("ORCH_STORE")) c->store_url = v;
  if (const char* v = env("ORCH_LOG_LEVEL")) c->log_level = v;
  c->adapters = adapters::AdapterConfig::from_env(c->adapters);
  return "";
}

}  // namespace orch::api
