#include "adapters/sandbox/sandbox_control.h"

#include <algorithm>
#include <optional>
#include <string>

#include "adapters/sandbox/sandbox_state.h"
#include "engine/json/json_read.h"

namespace orch::sandbox {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

json entry_json(const LedgerEntry& e) {
  json j = {{"seq", e.seq},
            {"step", e.step},
            {"service", e.service},
            {"method", e.method},
            {"path", e.path},
            {"idempotency_key", e.idempotency_key},
            {"replays", e.replays},
            {"status", e.cached.status}};
  if (!e.recipient.empty()) j["recipient"] = e.recipient;
  return j;
}

std::string parse_fault(const json& b, Fault& f) {
  if (!b.is_object()) return "body must be a JSON object";
  auto get = [&](const char* k) -> const json* {
    auto it = b.find(k);
    return it == b.end() || it->is_null() ? nullptr : &*it;
  };
  const json* v = get("path_prefix");
  if (!v || !v->is_string() || v->get_ref<const std::string&>().empty() ||
      v->get_ref<const std::string&>()[0] != '/')
    return "path_prefix must be a string starting with '/'";
  f.path_prefix = v->get<std::string>();
  if ((v = get("method"))) {
    if (!v->is_string()) return "method must be a string";
    f.method = v->get<std::string>();
    std::transform(f.method.begin(), f.method.end(), f.method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  }
  if ((v = get("status"))) {
    if (!v->is_number_integer()) return "status must be an integer";
    f.status = v->get<int>();
    if (f.status != 0 && (f.status < 100 || f.status > 599))
      return "status must be 0 (latency only) or 100..599";
  }
  if ((v = get("rate"))) {
    if (!v->is_number()) return "rate must be a number";
    f.rate = v->get<double>();
    if (f.rate < 0.0 || f.rate > 1.0) return "rate must be within [0, 1]";
  }
  if ((v = get("latency_ms"))) {
    if (!v->is_number_integer() || v->get<int64_t>() < 0)
      return "latency_ms must be a non-negative integer";
    f.latency = std::chrono::milliseconds(v->get<int64_t>());
  }
  if ((v = get("workflow_ids"))) {
    if (!v->is_array()) return "workflow_ids must be an array of strings";
    for (const auto& w : *v) {
      if (!w.is_string()) return "workflow_ids must be an array of strings";
      f.workflow_ids.push_back(w.get<std::string>());
    }
  }
  if ((v = get("retry_after_s"))) {
    if (!v->is_number_integer() || v->get<int>() < 0)
      return "retry_after_s must be a non-negative integer";
    f.retry_after_s = v->get<int>();
  }
  if ((v = get("count"))) {
    if (!v->is_number_integer() || v->get<int64_t>() < 0)
      return "count must be a non-negative integer";
    f.count = v->get<int64_t>();
  }
  if ((v = get("drop_connection"))) {
    if (!v->is_boolean()) return "drop_connection must be a boolean";
    f.drop_connection = v->get<bool>();
  }
  if ((v = get("recipients"))) {
    if (!v->is_array()) return "recipients must be an array of strings";
    for (const auto& r : *v) {
      if (!r.is_string()) return "recipients must be an array of strings";
      f.recipients.insert(r.get<std::string>());
    }
  }
  if ((v = get("first_attempt_only"))) {
    if (!v->is_boolean()) return "first_attempt_only must be a boolean";
    f.first_attempt_only = v->get<bool>();
  }
  if ((v = get("error"))) {
    if (!v->is_string() || v->get_ref<const std::string&>().empty())
      return "error must be a non-empty string (the service's reason)";
    f.error = v->get<std::string>();
  }
  return {};
}

}  // namespace

json Fault::to_json() const {
  json j = {{"id", id},
            {"path_prefix", path_prefix},
            {"method", method.empty() ? json(nullptr) : json(method)},
            {"status", status},
            {"rate", rate},
            {"latency_ms", latency.count()},
            {"workflow_ids", workflow_ids},
            {"retry_after_s", retry_after_s >= 0 ? json(retry_after_s) : json(nullptr)},
            {"count", count >= 0 ? json(count) : json(nullptr)},
            {"matched", matched},
            {"drop_connection", drop_connection},
            {"error", error.empty() ? json(nullptr) : json(error)},
            {"recipients", recipients},
            {"first_attempt_only", first_attempt_only}};
  return j;
}

namespace detail {

json summary_locked(const Sandbox::State& s) {
  return {{"side_effects", s.effects},
          {"compensations", s.compensations},
          {"replays", s.replays},
          {"faults_injected", s.faults_injected},
          {"workflows", s.workflows}};
}

// nullptr result when the workflow has no entry.
json workflow_locked(const Sandbox::State& s, const std::string& workflow_id, bool* found) {
  json effects = json::array();
  json comps = json::array();
  auto it = s.by_workflow.find(workflow_id);
  *found = it != s.by_workflow.end();
  if (*found) {
    for (std::size_t idx : it->second) {
      const LedgerEntry& e = s.ledger[idx];
      (e.compensation ? comps : effects).push_back(entry_json(e));
    }
  }
  return {{"workflow_id", workflow_id},
          {"side_effects", std::move(effects)},
          {"compensations", std::move(comps)}};
}

json workflow_counts_locked(const Sandbox::State& s, const std::string& workflow_id,
                          bool* found) {
  std::size_t entries = 0;
  uint64_t replays = 0;
  json keys = json::array();
  auto it = s.by_workflow.find(workflow_id);
  *found = it != s.by_workflow.end();
  if (*found) {
    entries = it->second.size();
    for (std::size_t idx : it->second) {
      const LedgerEntry& e = s.ledger[idx];
      if (e.replays == 0) continue;
      replays += e.replays;
      keys.push_back(e.idempotency_key);
    }
  }
  return {{"workflow_id", workflow_id},
          {"entries", entries},
          {"replays", replays},
          {"keys_with_replays", std::move(keys)}};
}

json attempts_locked(const Sandbox::State& s, const std::string& key) {
  Sandbox::State::KeyAttempts a;
  if (auto it = s.by_key.find(key); it != s.by_key.end()) a = it->second.counts;
  return {{"key", key},
          {"attempts", a.attempts},
          {"successes", a.successes},
          {"replays", a.replays}};
}

Response method_not_allowed(std::string allow) {
  Response r = problem(405, "method not allowed; use " + allow);
  r.headers.emplace_back("Allow", std::move(allow));
  return r;
}

// Parses a POST /sandbox/faults body. Returns an error message or "".
Response control(Sandbox::State& s, const Request& req, const std::vector<std::string>& seg) {
  const std::string& m = req.method;
  if (seg.size() == 1 && seg[0] == "health") {
    if (m != "GET" && m != "HEAD") return method_not_allowed("GET");
    return json_response(200, {{"status", "ok"}});
  }
  // seg[0] == "sandbox"
  if (seg.size() < 2) return problem(404, "unknown sandbox endpoint");
  const std::string& what = seg[1];
  std::lock_guard lock(s.mu);
  if (what == "ledger") {
    if (m != "GET") return method_not_allowed("GET");
    if (seg.size() == 2) return json_response(200, summary_locked(s));
    if (seg.size() == 3) {
      bool found = false;
      const std::optional<std::string> summary = req.query_param("summary");
      json j = summary && *summary == "true" ? workflow_counts_locked(s, seg[2], &found)
                                             : workflow_locked(s, seg[2], &found);
      if (!found) return problem(404, "no ledger entry for workflow " + seg[2]);
      return json_response(200, j);
    }
    return problem(404, "unknown sandbox endpoint");
  }
  if (what == "faults") {
    if (seg.size() == 2) {
      if (m == "GET") {
        json list = json::array();
        for (const auto& f : s.faults) list.push_back(f.to_json());
        return json_response(200, {{"faults", std::move(list)}});
      }
      if (m == "DELETE") {
        std::size_t n = s.faults.size();
        s.faults.clear();
        return json_response(200, {{"deleted", n}});
      }
      if (m == "POST") {
        json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded()) return problem(400, "body is not valid JSON");
        Fault f;
        if (std::string err = parse_fault(body, f); !err.empty()) return problem(400, err);
        f.id = "fault-" + std::to_string(s.next_fault_id++);
        json out = f.to_json();
        s.faults.push_back(std::move(f));
        return json_response(201, out);
      }
      return method_not_allowed("GET, POST, DELETE");
    }
    if (seg.size() == 3) {
      auto it = std::find_if(s.faults.begin(), s.faults.end(),
                             [&](const Fault& f) { return f.id == seg[2]; });
      if (m == "GET") {
        if (it == s.faults.end()) return problem(404, "no fault " + seg[2]);
        return json_response(200, it->to_json());
      }
      if (m == "DELETE") {
        if (it == s.faults.end()) return problem(404, "no fault " + seg[2]);
        s.faults.erase(it);
        return json_response(200, {{"id", seg[2]}, {"deleted", true}});
      }
      return method_not_allowed("GET, DELETE");
    }
    return problem(404, "unknown sandbox endpoint");
  }
  if (what == "config" && seg.size() == 2) {
    if (m == "PUT" || m == "POST") {
      json body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) return problem(400, "body is not a JSON object");
      std::chrono::milliseconds latency = s.latency;
      double rate = s.failure_rate;
      if (auto it = body.find("latency_ms"); it != body.end()) {
        if (!it->is_number_integer() || it->get<int64_t>() < 0)
          return problem(400, "latency_ms must be a non-negative integer");
        latency = std::chrono::milliseconds(it->get<int64_t>());
      }
      if (auto it = body.find("failure_rate"); it != body.end()) {
        if (!it->is_number() || it->get<double>() < 0.0 || it->get<double>() > 1.0)
          return problem(400, "failure_rate must be within [0, 1]");
        rate = it->get<double>();
      }
      s.latency = latency;
      s.failure_rate = rate;
    } else if (m != "GET") {
      return method_not_allowed("GET, PUT");
    }
    return json_response(200, {{"latency_ms", s.latency.count()}, {"failure_rate", s.failure_rate}});
  }
  if (what == "attempts" && seg.size() == 2) {
    if (m != "GET") return method_not_allowed("GET");
    if (const std::optional<std::string> key = req.query_param("key")) {
      if (key->empty()) return problem(400, "key must be a non-empty Idempotency-Key");
      return json_response(200, attempts_locked(s, *key));
    }
    return json_response(200, {{"keys", s.by_key.size()}});
  }
  if (what == "opt-outs") return twilio_opt_outs_control(s, req, seg);
  if (what == "credits") return rewards_credits_control(s, req, seg);
  if (what == "reset" && seg.size() == 2) {
    if (m != "POST") return method_not_allowed("POST");
    s.clear();
    return json_response(200, {{"reset", true}});
  }
  return problem(404, "unknown sandbox endpoint");
}

}  // namespace detail
}  // namespace orch::sandbox
