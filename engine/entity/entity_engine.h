// Runs durable keyed entities (entity_definition.h) on the engine's thread,
// journaled through the same group-committed journal as the workflows.
//
// An exclusive call is applied to the entity's state in memory at once (so
// calls on one key apply in arrival order), journaled, and answered only
// once its record is durable. A call with an idempotency key is applied
// once: a repeat gets the first answer (after the first is durable), also
// after a restart; the key reused with another handler or request is
// refused. Queries read the state in memory, which may include a call whose
// commit is in flight (it is answered a moment later, or, if the process
// dies first, was never acknowledged).
//
// An entity's journal is its latest snapshot and the calls after it: every
// `snapshot_every` calls the state is written as a snapshot in the same
// commit as the call, and the store deletes the records before it in that
// same transaction, so one key's journal stays bounded however many calls it
// takes, and no call is ever lost to a compaction.
// Idle entities leave memory and are read back (snapshot plus calls) when a
// call or query needs them, so millions of keys cost only their rows on disk.
//
// REQUIRES: every method is called on the io_context's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/time/clock.h"
#include "engine/entity/entity_definition.h"
#include "engine/journal/journal.h"
#include "engine/common/status.h"
#include "engine/time/timer_service.h"

namespace boost::asio {
class io_context;
}
namespace orch::observability {
class Metrics;
}

namespace orch::engine {

struct EntityLimits {
  TimeMs idle_after_ms = 5'000;         // an idle entity leaves memory after this long
  std::size_t max_resident = 200'000;   // above this many, the least recently used leave
};

enum class EntityCode {
  ok,
  not_found,
  conflict,
  invalid,
  key_reused,       // the idempotency key was first used for another call
  unknown_kind,
  unknown_handler,
  unavailable,      // the store could not be read (an I/O error)
  damaged,          // the entity's records fail their checks or cannot be replayed
};

struct EntityResult {
  EntityCode code = EntityCode::ok;
  nlohmann::json answer;  // ok: the handler's answer
  std::string detail;     // otherwise: why
  bool repeat = false;    // the answer of an earlier call with the same key
};

class EntityEngine {
 public:
  EntityEngine(boost::asio::io_context& io, Journal& journal, Clock& clock,
               observability::Metrics* metrics, EntityLimits limits = {});
  ~EntityEngine();
  EntityEngine(const EntityEngine&) = delete;
  EntityEngine& operator=(const EntityEngine&) = delete;

  // Registers a kind. REQUIRES: before the first call.
  void add(EntityDefinition definition);
  const EntityDefinition* definition(std::string_view kind) const;

  // An exclusive call of `handler` on entity `kind:key`; `done` gets the
  // answer once the call is durable (at once for a refusal or an error).
  void call(std::string_view kind, const std::string& key, std::string_view handler,
            nlohmann::json request, const std::string& idempotency_key,
            std::function<void(EntityResult)> done);
  // A query of entity `kind:key`, answered from its state as it is.
  EntityResult query(std::string_view kind, const std::string& key, std::string_view name,
                     const nlohmann::json& request);
  // The keys of entities of `kind` that were ever written, in key order.
  Status list(std::string_view kind, std::size_t offset, std::size_t limit,
              std::vector<std::string>* keys, std::size_t* total);

  // A hint that `kind:key` will not be needed soon (a broadcast is done
  // with the customer): it leaves memory at the next sweep unless it is used
  // again first, instead of after idle_after_ms. Nothing if not resident.
  void done_with(std::string_view kind, const std::string& key);

  std::size_t resident_count() const { return resident_.size(); }

 private:
  struct Entity;
  struct Answer {
    std::string fingerprint;  // of the handler and the request
    nlohmann::json answer;
  };

  // The entity in memory, read back from the journal if need be; nullptr
  // with *error set (code damaged or unavailable) if it cannot be.
  Entity* resident(const EntityDefinition& def, const std::string& key, EntityResult* error);
  // Folds `records` (a snapshot or entity_started first) into `e`.
  Status replay(Entity& e, const std::vector<JournalRecord>& records) const;
  void remember_answer(Entity& e, const std::string& key, std::string fingerprint,
                       const nlohmann::json& answer) const;
  JournalRecord record(Entity& e, RecordType type, const nlohmann::json& payload) const;
  nlohmann::json snapshot_payload(const Entity& e) const;
  void touch(Entity& e);
  void evict_idle();

  // Constant after construction.
  Journal& journal_;
  Clock& clock_;
  observability::Metrics* metrics_;
  const EntityLimits limits_;

  std::map<std::string, EntityDefinition, std::less<>> definitions_;
  std::unordered_map<std::string, std::unique_ptr<Entity>> resident_;  // by journal id
  std::list<Entity*> recent_;  // least recently used first
  TimerService eviction_timer_;
  std::size_t evicted_since_trim_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace orch::engine
