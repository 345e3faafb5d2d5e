// Commands to a running workflow: signals (a gate's decisions, patches),
// cancel, pause and resume (hold), and redrive of a paused step. Each is
// checked, journaled, and answered once durable.
#include "engine/workflow/workflow_run.h"

#include <algorithm>

#include "engine/common/digest.h"
#include "engine/json/json_text.h"
#include "observability/log.h"

namespace orch::engine {

using nlohmann::json;

void WorkflowEngine::signal(const std::string& workflow_id, const std::string& name, json payload,
                            const std::string& idempotency_key,
                            std::function<void(SignalResult)> done) {
  const std::string text = dump_json(payload);
  if (text.size() > limits_.max_signal_payload_bytes)
    return done({SignalCode::too_large, "the " + name + " signal's payload is " +
                                            std::to_string(text.size()) + " bytes; at most " +
                                            std::to_string(limits_.max_signal_payload_bytes) +
                                            " are journaled"});
  // An idempotency key stands for one request: the same signal with the
  // same body from the same identity (the actor is in the payload).
  const std::string fingerprint =
      idempotency_key.empty() ? std::string() : sha256_hex(name + '\n' + text);
  std::string error;
  WorkflowPtr wf = resident(workflow_id, &error);
  if (!wf && error.empty() && !fingerprint.empty() && summary(workflow_id)) {
    // Finished: a repeat of a signal it took still answers as the first did.
    if (auto finished = read_back(workflow_id, &error);
        finished && answered_repeat(*finished, idempotency_key, fingerprint, done))
      return;
  }
  if (!wf) return reply_inactive(workflow_id, error, done);
  WorkflowState& st = *wf->state;
  const WorkflowDefinition& def = st.definition();
  if (!fingerprint.empty() && answered_repeat(st, idempotency_key, fingerprint, done)) return;
  if (st.last_seq() >= limits_.unwind_threshold())
    return done({SignalCode::conflict, "workflow " + workflow_id + " has reached its journal cap of " +
                                           std::to_string(limits_.max_records_per_workflow) +
                                           " records"});
  bool known = false;
  for (std::size_t p = 0; p < def.phases.size() && !known; ++p) {
    const auto& gate = def.phases[p].gate;
    if (!gate || (name != gate->approve_signal && name != gate->reject_signal)) continue;
    known = true;
    if (SignalResult refused = check_decision(st, p, name == gate->approve_signal, payload);
        refused.code != SignalCode::accepted)
      return done(refused);
  }
  for (const PatchSignalDefinition& patch : def.patch_signals) {
    if (known || name != patch.name) continue;
    known = true;
    if (st.unwind_reason() != UnwindReason::none)
      return done({SignalCode::conflict, "workflow " + workflow_id + " is " +
                                             to_string(st.status())});
    if (st.phase_started(patch.before_phase))
      return done({SignalCode::conflict, "workflow " + workflow_id + " has already started " +
                                             patch.before_phase + "; " + name + " is too late"});
    const json& key = payload.contains(patch.key_field) ? payload[patch.key_field] : json();
    if (!key.is_string() || !payload.contains(patch.value_field))
      return done({SignalCode::invalid, name + " needs " + patch.key_field + " and " +
                                            patch.value_field});
    if (!patch.allowed_keys.empty() &&
        std::find(patch.allowed_keys.begin(), patch.allowed_keys.end(), key.get<std::string>()) ==
            patch.allowed_keys.end())
      return done({SignalCode::invalid,
                   patch.key_field + " '" + key.get<std::string>() + "' is not one of the workflow's"});
  }
  if (!known) return done({SignalCode::unknown_signal, "workflow " + def.name + " has no signal " + name});
  json record = {{"name", name}, {"payload", std::move(payload)}, {"key", idempotency_key}};
  if (!fingerprint.empty()) record["fingerprint"] = std::move(fingerprint);
  emit(*wf, RecordType::signal_received, std::move(record));
  advance(wf);
  journal_.flush([done = std::move(done)](const Status&) { done({SignalCode::accepted, ""}); });
}

bool WorkflowEngine::answered_repeat(const WorkflowState& st, const std::string& key,
                                     const std::string& fingerprint,
                                     std::function<void(SignalResult)>& done) {
  const std::string* first = st.signal_key_fingerprint(key);
  if (!first) return false;
  // "" : journaled before keys were bound to their request; a repeat then.
  if (!first->empty() && *first != fingerprint) {
    done({SignalCode::key_reused, "Idempotency-Key was already used on workflow " +
                                      st.workflow_id() +
                                      " for a different request (another signal, body or identity)"});
    return true;
  }
  journal_.flush([done = std::move(done)](const Status&) { done({SignalCode::duplicate, ""}); });
  return true;
}

WorkflowEngine::WorkflowPtr WorkflowEngine::active_or_reply(
    const std::string& workflow_id, const std::function<void(SignalResult)>& done) {
  std::string error;
  if (WorkflowPtr wf = resident(workflow_id, &error)) return wf;
  reply_inactive(workflow_id, error, done);
  return nullptr;
}

void WorkflowEngine::reply_inactive(const std::string& workflow_id, const std::string& error,
                                    const std::function<void(SignalResult)>& done) {
  if (const std::string* why = damage(workflow_id)) {
    done({SignalCode::damaged, *why});
  } else if (!error.empty()) {
    observability::log(observability::LogLevel::error, "workflow read back failed",
                       {{"workflow_id", workflow_id}, {"error", error}});
    done({SignalCode::unavailable, error});
  } else if (const WorkflowSummary* s = summary(workflow_id))
    done({SignalCode::conflict, "workflow " + workflow_id + " is already " + s->status +
                                    "; it accepts no more commands"});
  else
    done({SignalCode::not_found, "no workflow " + workflow_id});
}

void WorkflowEngine::cancel(const std::string& workflow_id, const std::string& reason,
                            std::function<void(SignalResult)> done) {
  cancel(workflow_id, reason, json(), std::move(done));
}

void WorkflowEngine::cancel(const std::string& workflow_id, const std::string& reason,
                            json actor, std::function<void(SignalResult)> done) {
  WorkflowPtr wf = active_or_reply(workflow_id, done);
  if (!wf) return;
  if (wf->state->unwind_reason() != UnwindReason::none)
    return done({SignalCode::conflict, "workflow " + workflow_id + " is already " +
                                           to_string(wf->state->status()) + ": " +
                                           wf->state->failure_reason()});
  json record = {{"reason", reason}};
  if (!actor.is_null()) record["actor"] = std::move(actor);
  emit(*wf, RecordType::cancel_requested, std::move(record));
  advance(wf);
  journal_.flush([done = std::move(done)](const Status&) { done({SignalCode::accepted, ""}); });
}

void WorkflowEngine::redrive(const std::string& workflow_id, const std::string& reason,
                             std::function<void(SignalResult)> done) {
  WorkflowPtr wf = active_or_reply(workflow_id, done);
  if (!wf) return;
  const WorkflowState& st = *wf->state;
  if (st.status() != WorkflowStatus::paused || st.paused_step() == kNpos)
    return done({SignalCode::conflict, "workflow " + workflow_id + " is " +
                                           to_string(st.status()) +
                                           (st.held() ? " by an operator (resume it)"
                                                      : ", not paused by a failed step")});
  emit(*wf, RecordType::step_reset,
       {{"step", st.plan().steps[st.paused_step()].id}, {"reason", reason}});
  advance(wf);
  journal_.flush([done = std::move(done)](const Status&) { done({SignalCode::accepted, ""}); });
}

SignalResult WorkflowEngine::check_decision(const WorkflowState& st, std::size_t gate_phase,
                                           bool approve, json& payload) const {
  const std::string& id = st.workflow_id();
  if (st.unwind_reason() != UnwindReason::none)
    return {SignalCode::conflict,
            "workflow " + id + " is " + to_string(st.status()) + ": " + st.failure_reason()};
  if (st.current_phase() > gate_phase || st.gate_approved())
    return {SignalCode::conflict, "the " + st.definition().phases[gate_phase].name +
                                      " phase of workflow " + id + " is already decided"};
  return st.gate_tally()->judge(st, approve, payload);
}

void WorkflowEngine::hold(const std::string& workflow_id, bool pause, const std::string& reason,
                          json actor, std::function<void(SignalResult)> done) {
  WorkflowPtr wf = active_or_reply(workflow_id, done);
  if (!wf) return;
  const WorkflowState& st = *wf->state;
  const WorkflowDefinition& def = st.definition();
  if (st.unwind_reason() != UnwindReason::none)
    return done({SignalCode::conflict, "workflow " + workflow_id + " is " +
                                           to_string(st.status()) + ": " + st.failure_reason()});
  if (pause) {
    if (st.held())
      return done({SignalCode::conflict, "workflow " + workflow_id + " is already paused"});
    if (std::none_of(def.phases.begin(), def.phases.end(),
                     [&](const PhaseDefinition& p) { return p.name == def.pausable_before_phase; }))
      return done({SignalCode::conflict, "workflow " + def.name + " cannot be paused"});
    if (st.phase_started(def.pausable_before_phase))
      return done({SignalCode::conflict, "workflow " + workflow_id + " has already started " +
                                             def.pausable_before_phase +
                                             "; it can be paused only before"});
  } else if (!st.held()) {
    return done({SignalCode::conflict, "workflow " + workflow_id + " is " +
                                           to_string(st.status()) + ", not paused by an operator"});
  }
  json record = {{"reason", reason}};
  if (!actor.is_null()) record["actor"] = std::move(actor);
  emit(*wf, pause ? RecordType::workflow_paused : RecordType::workflow_resumed, std::move(record));
  advance(wf);
  journal_.flush([done = std::move(done)](const Status&) { done({SignalCode::accepted, ""}); });
}

}  // namespace orch::engine
