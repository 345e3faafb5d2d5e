// The sandbox's core: request dispatch, the idempotency ledger, fault and
// latency injection (the /sandbox/ control endpoints are in
// sandbox_control.cpp). The fake services
// themselves live in fake_*.cpp, one file per service (fake_services.h).
#include "adapters/sandbox/sandbox.h"

#include <algorithm>
#include <exception>
#include <optional>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "adapters/sandbox/sandbox_control.h"
#include "adapters/sandbox/sandbox_state.h"
#include "engine/json/json_read.h"

namespace orch::sandbox {

using http::Request;
using http::Responder;
using http::Response;
using nlohmann::json;

namespace {

struct KeyParts {
  std::string workflow_id;
  std::string step;
  bool compensation = false;
};

constexpr std::string_view kCompensateSuffix = ":compensate";

// "{workflow_id}:{step}" or "{workflow_id}:{step}:compensate".
KeyParts parse_key(std::string_view key) {
  KeyParts k;
  auto colon = key.find(':');
  if (colon == std::string_view::npos) {
    k.workflow_id = std::string(key);
    return k;
  }
  k.workflow_id = std::string(key.substr(0, colon));
  std::string_view rest = key.substr(colon + 1);
  if (rest.size() >= kCompensateSuffix.size() &&
      rest.substr(rest.size() - kCompensateSuffix.size()) == kCompensateSuffix) {
    k.compensation = true;
    rest.remove_suffix(kCompensateSuffix.size());
  }
  k.step = std::string(rest);
  return k;
}

bool is_2xx(int status) { return status >= 200 && status < 300; }


bool fault_matches(const Fault& f, std::string_view method, std::string_view path,
                   const std::string& workflow_id) {
  if (f.count >= 0 && f.matched >= f.count) return false;
  if (path.substr(0, f.path_prefix.size()) != f.path_prefix) return false;
  if (!f.method.empty() && f.method != method) return false;
  if (!f.workflow_ids.empty() &&
      std::find(f.workflow_ids.begin(), f.workflow_ids.end(), workflow_id) ==
          f.workflow_ids.end())
    return false;
  return true;
}

// The record of `key`, its request counted (none without a key). REQUIRES:
// s.mu held.
Sandbox::State::KeyRecord* count_attempt(Sandbox::State& s, const std::string& key) {
  if (key.empty()) return nullptr;
  Sandbox::State::KeyRecord& record = s.by_key[key];
  ++record.counts.attempts;
  return &record;
}

Response injected_response(int status, int retry_after_s, std::string_view detail) {
  Response r = problem(status, detail);
  if (retry_after_s >= 0) r.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
  return r;
}

}  // namespace

Sandbox::Sandbox(boost::asio::io_context& io, SandboxOptions options)
    : io_(io), tls_(options.tls), state_(std::make_shared<State>(io, options)) {}

Sandbox::~Sandbox() { stop(); }

std::string Sandbox::listen(const std::string& host, uint16_t port) {
  if (server_) return "sandbox is already listening";
  auto server = std::make_unique<http::HttpServer>(
      io_, [this](Request req, Responder respond) { handle(std::move(req), std::move(respond)); });
  if (!tls_.cert_chain_file.empty())
    if (std::string err = server->use_tls(tls_); !err.empty()) return err;
  std::string err = server->listen(host, port);
  if (!err.empty()) return err;
  server_ = std::move(server);
  return {};
}

uint16_t Sandbox::port() const { return server_ ? server_->port() : 0; }

std::string Sandbox::base_url() const {
  return (tls_.cert_chain_file.empty() ? "http://127.0.0.1:" : "https://127.0.0.1:") +
         std::to_string(port());
}

void Sandbox::stop() {
  if (server_) server_->stop();
}

json Sandbox::ledger_summary() const {
  std::lock_guard lock(state_->mu);
  return detail::summary_locked(*state_);
}

json Sandbox::ledger_for(const std::string& workflow_id) const {
  std::lock_guard lock(state_->mu);
  bool found = false;
  return detail::workflow_locked(*state_, workflow_id, &found);
}

json Sandbox::ledger_counts_for(const std::string& workflow_id) const {
  std::lock_guard lock(state_->mu);
  bool found = false;
  return detail::workflow_counts_locked(*state_, workflow_id, &found);
}

json Sandbox::attempts_for(const std::string& key) const {
  std::lock_guard lock(state_->mu);
  return detail::attempts_locked(*state_, key);
}

json Sandbox::credits(const std::string& customer_id, bool summary) const {
  std::string text;
  {
    std::lock_guard lock(state_->mu);
    text = rewards_credits_text(*state_, customer_id, summary);
  }
  return json::parse(text);
}

void Sandbox::reset() {
  std::lock_guard lock(state_->mu);
  state_->clear();
}

namespace {

// Answers after `delay` (if any) on a steady_timer. With `drop` the responder
// is destroyed unanswered instead, which makes orch::http::HttpServer close
// the connection without a response.
void respond_after(boost::asio::io_context& io, std::chrono::milliseconds delay, Responder respond,
                   Response resp, bool drop) {
  if (delay.count() <= 0) {
    if (!drop) respond(std::move(resp));
    return;
  }
  auto timer = std::make_shared<boost::asio::steady_timer>(io, delay);
  timer->async_wait([timer, respond = std::move(respond), resp = std::move(resp),
                     drop](const boost::system::error_code&) mutable {
    if (drop) {
      respond = nullptr;
    } else {
      respond(std::move(resp));
    }
  });
}

}  // namespace

void Sandbox::handle(Request req, Responder respond) {
  State& s = *state_;
  const std::string_view path = req.path();
  std::vector<std::string> seg = split_path(path);

  if (!seg.empty() && (seg[0] == "sandbox" || (seg[0] == "health" && seg.size() == 1))) {
    Response r;
    try {
      r = detail::control(s, req, seg);
    } catch (const std::exception& e) {
      r = problem(500, e.what());
    }
    respond(std::move(r));
    return;
  }

  RouteMatch route = match_service_route(req.method, seg);
  if (route.error == 404) {
    respond(problem(404, "no such endpoint: " + std::string(path)));
    return;
  }
  if (route.error == 405) {
    respond(detail::method_not_allowed(std::move(route.allow)));
    return;
  }
  std::optional<Response> denied = check_auth(route.auth, req);

  std::string key;
  if (auto h = req.header("Idempotency-Key")) key = std::string(*h);
  KeyParts parts = parse_key(key);

  // The body is read before the lock: a fault may filter on its recipient.
  Call call{req, std::move(seg), {}, {}, false, false, {}, kNoRecord};
  bool bad_body = false;
  if (!denied && route.body != BodyKind::none) {
    std::string_view body(req.body);
    std::size_t first = body.find_first_not_of(" \t\r\n");
    bool looks_json = first != std::string_view::npos && body[first] == '{';
    auto ctype = req.header("Content-Type");
    bool form = route.body == BodyKind::form_or_json &&
                ((ctype && ctype->find("x-www-form-urlencoded") != std::string_view::npos) ||
                 (!looks_json && first != std::string_view::npos));
    if (form) {
      call.is_form = true;
      call.form = parse_form(body);
    } else if (first == std::string_view::npos) {
      call.body = json::object();
    } else {
      parse_json(body, call.body);
      bad_body = call.body.is_discarded() || !call.body.is_object();
    }
  }

  std::chrono::milliseconds delay{0};
  Response resp;
  bool answered = false;
  bool drop = false;
  {
    std::lock_guard lock(s.mu);
    Sandbox::State::KeyRecord* record = count_attempt(s, key);
    bool replayed = false;
    bool applied = false;
    if (denied) {
      resp = std::move(*denied);
      answered = true;
    } else {
      delay = s.latency;
    }

    // Faults: latency-only faults add up; the first failing fault answers.
    std::optional<std::string> recipient;  // read when a fault filters on it
    for (auto& f : s.faults) {
      if (answered) break;
      if (!fault_matches(f, req.method, path, parts.workflow_id)) continue;
      if (!f.recipients.empty()) {
        if (!recipient) recipient = bad_body ? std::string() : message_recipient(route.handler, call);
        if (!f.recipients.count(*recipient)) continue;
      }
      if (f.first_attempt_only && !key.empty() && !f.keys_seen.insert(key).second) continue;
      if (f.rate < 1.0 && std::uniform_real_distribution<double>(0.0, 1.0)(s.rng) >= f.rate)
        continue;
      ++f.matched;
      delay += f.latency;
      if (f.status == 0 && !f.drop_connection) continue;
      ++s.faults_injected;
      drop = f.drop_connection;
      const int status = f.status == 0 ? 503 : f.status;
      if (f.error.empty()) {
        resp = injected_response(status, f.retry_after_s, "sandbox fault " + f.id);
      } else {
        resp = service_error(route.service, status, f.error);
        if (f.retry_after_s >= 0)
          resp.headers.emplace_back("Retry-After", std::to_string(f.retry_after_s));
      }
      answered = true;
    }
    if (!answered && s.failure_rate > 0.0 &&
        std::uniform_real_distribution<double>(0.0, 1.0)(s.rng) < s.failure_rate) {
      ++s.faults_injected;
      resp = injected_response(503, -1, "sandbox random failure");
      answered = true;
    }

    // Replay of an already applied key; a key not applied yet gets its
    // ledger entry when the answer is ledgered.
    std::size_t* key_slot = nullptr;
    if (!answered && record) {
      if (record->entry == Sandbox::State::kNoEntry) {
        key_slot = &record->entry;  // node-based map: stays valid across rehashes
      } else {
        LedgerEntry& e = s.ledger[record->entry];
        if (e.method != req.method || e.path != path) {
          // Like Stripe: a key belongs to one request; reuse elsewhere is a bug.
          resp = problem(422, "Idempotency-Key '" + key + "' was already used for " + e.method +
                                  " " + e.path);
        } else {
          resp = route.replay ? route.replay(s, call, e) : e.cached;
          replayed = !route.replay || is_2xx(resp.status);
          if (replayed) {
            ++e.replays;
            ++s.replays;
            resp.headers.emplace_back("Idempotent-Replayed", "true");
          }
        }
        answered = true;
      }
    }

    if (!answered) {
      if (bad_body) {
        resp = problem(400, "request body is not a JSON object");
      } else {
        try {
          resp = route.handler(s, call);
        } catch (const std::exception& e) {
          resp = problem(500, std::string("sandbox error: ") + e.what());
          call.failed = true;
        }
        if (is_2xx(resp.status) && !call.failed) {
          LedgerEntry e;
          e.seq = s.ledger.size() + 1;
          e.workflow_id = std::move(parts.workflow_id);
          e.step = std::move(parts.step);
          e.idempotency_key = key;
          e.compensation = parts.compensation;
          e.service = route.service;
          e.method = req.method;
          e.path = std::string(path);
          e.recipient = std::move(call.recipient);
          e.record = call.record;
          if (!key.empty() && !route.replay) {
            e.cached = resp;
          } else {
            e.cached.status = resp.status;
          }
          if (e.compensation) {
            ++s.compensations;
          } else {
            ++s.effects;
          }
          std::size_t idx = s.ledger.size();
          auto [wit, fresh] = s.by_workflow.try_emplace(e.workflow_id);
          if (fresh && !e.workflow_id.empty()) ++s.workflows;
          wit->second.push_back(idx);
          s.ledger.push_back(std::move(e));
          if (key_slot) *key_slot = idx;
          applied = true;
        }
      }
    }
    if (record && !drop) {
      if (applied) ++record->counts.successes;
      if (replayed) ++record->counts.replays;
    }
  }
  respond_after(io_, delay, std::move(respond), std::move(resp), drop);
}

}  // namespace orch::sandbox
