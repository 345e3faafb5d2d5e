#include "phases/user_actor/user_actor_gate.h"

#include "engine/entity/entity_engine.h"
#include "phases/user_actor/user_actor.h"

namespace orch::phases::user_actor {

using engine::EntityCode;
using engine::EntityResult;
using nlohmann::json;

namespace {

GateResult gate_result(EntityResult r) {
  GateResult out;
  out.ok = r.code == EntityCode::ok;
  if (out.ok) {
    out.answer = std::move(r.answer);
  } else {
    out.error = "user actor: " + r.detail;
    out.retryable = r.code == EntityCode::unavailable;
  }
  return out;
}

}  // namespace

void UserActorGate::call(const std::string& user, const char* handler, json request,
                         const std::string& idempotency_key, GateCallback done) {
  entities_.call(kKind, user, handler, std::move(request), idempotency_key,
                 [done = std::move(done)](EntityResult r) { done(gate_result(std::move(r))); });
}

void UserActorGate::reserve(const std::string& user, const json& request,
                            const std::string& idempotency_key, GateCallback done) {
  call(user, "reserve", request, idempotency_key, std::move(done));
}

void UserActorGate::commit(const std::string& user, const std::string& reservation_id,
                           GateCallback done) {
  call(user, "commit", {{"reservation_id", reservation_id}}, "commit:" + reservation_id,
       std::move(done));
}

void UserActorGate::release(const std::string& user, const std::string& reservation_id,
                            GateCallback done) {
  call(user, "release", {{"reservation_id", reservation_id}}, "", std::move(done));
}

void UserActorGate::opt_out(const std::string& user, const std::string& channel,
                            GateCallback done) {
  call(user, "opt_out", {{"channel", channel}}, "", std::move(done));
}

MessageState UserActorGate::message_state(const std::string& user, const std::string& message_id,
                                          std::string* reservation_id) {
  EntityResult r = entities_.query(kKind, user, "message", {{"message_id", message_id}});
  if (r.code != EntityCode::ok) return MessageState::unknown;
  const std::string state = r.answer.value("state", "unknown");
  if (state == "committed") return MessageState::committed;
  if (state != "pending") return MessageState::unknown;
  if (reservation_id) *reservation_id = r.answer.value("reservation_id", "");
  return MessageState::pending;
}

void UserActorGate::done_with(const std::string& user) { entities_.done_with(kKind, user); }

}  // namespace orch::phases::user_actor
