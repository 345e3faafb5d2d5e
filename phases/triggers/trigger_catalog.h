// The trigger campaigns and every version of each: created and changed
// through POST/PATCH /v1/triggers, kept as documents ("triggers" holds each
// trigger as it is now, "trigger_versions" each version as it was), and
// held in memory so matching an event costs no read.
//
// Every change is a new version, in force from the moment it was made
// (effective_ms). An event is matched against the version of each trigger
// in force when the event was accepted, however long it waited in the
// queue: a trigger created, paused or changed later does not reach back.
//
// REQUIRES: every method runs on the engine's thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/common/status.h"
#include "engine/time/clock.h"
#include "phases/triggers/trigger_rule.h"

namespace orch::engine {
class Journal;
}

namespace orch::phases::triggers {

inline constexpr const char* kTriggers = "triggers";
inline constexpr const char* kTriggerVersions = "trigger_versions";

class TriggerCatalog {
 public:
  // The stored body of a version: the trigger's fields plus id, version,
  // created_at, updated_at. `done` gets it, or the store's error.
  using Saved = std::function<void(const Status&, const nlohmann::json& stored)>;

  TriggerCatalog(engine::Journal& journal, engine::Clock& clock);

  // Reads every version from the store (at start).
  Status load();

  // REQUIRES: check_trigger(body, create) is empty.
  void create(const nlohmann::json& body, Saved done);
  // A new version of trigger `id` with `patch` merged in; false (and no
  // call of `done`) when there is no such trigger.
  // REQUIRES: check_trigger(patch, patch) is empty.
  bool patch(const std::string& id, const nlohmann::json& patch, Saved done);

  // The trigger as it is now (its newest version's stored body), or null.
  const nlohmann::json* current(const std::string& id) const;
  // The stored body of version `version` of trigger `id`, or null.
  const nlohmann::json* stored(const std::string& id, std::int64_t version) const;
  // The action of version `version` of trigger `id` as JSON text ("null"
  // when there is none), written once per version.
  const std::string& action_text(const std::string& id, std::int64_t version) const;
  // Version `version` of trigger `id`, or null.
  const TriggerRule* version(const std::string& id, std::int64_t version) const;
  // The versions that act on an event of `type` accepted at `accepted_ms`:
  // of each trigger, the version in force then, when it is active, of that
  // type and `accepted_ms` is in its window.
  std::vector<const TriggerRule*> in_force(const std::string& type, engine::TimeMs accepted_ms) const;
  std::size_t size() const { return triggers_.size(); }

 private:
  struct Version {
    TriggerRule rule;
    nlohmann::json stored;
    std::string action_text;
    engine::TimeMs effective_ms = 0;
  };
  struct Trigger {
    std::vector<Version> versions;  // by version, ascending
    std::int64_t next_version = 1;  // versions written or being written
  };

  void save(nlohmann::json stored, Saved done);
  void add(nlohmann::json stored);

  engine::Journal& journal_;
  engine::Clock& clock_;
  std::map<std::string, Trigger> triggers_;
  // Trigger ids by every event type any of their versions had.
  std::unordered_map<std::string, std::vector<std::string>> by_type_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace orch::phases::triggers
