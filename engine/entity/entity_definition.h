// Durable keyed entities: one small state machine per key (a user, an
// account), like Restate's virtual objects or Temporal's entity workflows.
// An entity kind declares its state and its handlers:
//  - exclusive handlers change the state; they run one at a time per key, in
//    arrival order, and each call is journaled (its handler, request,
//    idempotency key and time) before it is answered;
//  - queries read the state and change nothing.
// A handler must be a deterministic function of (state, request, time): on
// replay the engine runs it again on the journaled request and time, so the
// state (and the answer a repeat of the call gets) comes out the same. The
// engine knows nothing of what the state means.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/time/clock.h"

namespace orch::engine {

// What a handler or query is told about its call.
struct EntityCall {
  std::string_view key;  // the entity's key (without its kind)
  TimeMs now_ms = 0;     // the call's time: journaled, the same on replay
  bool exists = false;   // the entity has been written before
};

enum class EntityOutcome {
  ok,         // answered; for an exclusive handler, journaled if `changed`
  not_found,  // no such entity (or no such thing in it); nothing journaled
  conflict,   // not in this state; nothing journaled
  invalid,    // a request the handler refuses; nothing journaled
};

struct EntityReply {
  EntityOutcome outcome = EntityOutcome::ok;
  nlohmann::json answer;  // ok: the answer; otherwise {"detail": why}
  bool changed = true;    // ok: false when the state did not change (nothing journaled)

  static EntityReply refuse(EntityOutcome outcome, std::string detail) {
    return {outcome, {{"detail", std::move(detail)}}, false};
  }
};

// Changes `state` (the kind's initial state for a new entity) and answers.
using EntityHandler = std::function<EntityReply(nlohmann::json& state,
                                                const nlohmann::json& request,
                                                const EntityCall& call)>;
// Answers from `state`, changing nothing.
using EntityQuery = std::function<EntityReply(const nlohmann::json& state,
                                              const nlohmann::json& request,
                                              const EntityCall& call)>;

struct EntityDefinition {
  std::string kind;  // journal ids are "kind:key"; no ':' in it
  std::function<nlohmann::json(std::string_view key)> initial_state;
  std::map<std::string, EntityHandler, std::less<>> handlers;
  std::map<std::string, EntityQuery, std::less<>> queries;
  // After this many calls since the last snapshot, the state is written as a
  // snapshot in the same commit as the call, and the records before it are
  // deleted once it is durable: an entity's journal stays bounded.
  std::size_t snapshot_every = 64;
  // Answers to calls with an idempotency key kept for repeats (the newest).
  std::size_t answers_kept = 256;
};

}  // namespace orch::engine
