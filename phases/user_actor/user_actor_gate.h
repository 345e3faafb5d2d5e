// The RecipientGate (phases/ports.h) over the user actors of an
// EntityEngine: campaigns reserve, commit and release their sends through
// the same durable actors as the REST API, without a loopback call.
#pragma once

#include "phases/ports.h"

namespace orch::engine {
class EntityEngine;
}

namespace orch::phases::user_actor {

class UserActorGate final : public RecipientGate {
 public:
  // REQUIRES: `entities` has the user kind registered and outlives this;
  // every method is called on the entity engine's thread.
  explicit UserActorGate(engine::EntityEngine& entities) : entities_(entities) {}

  void reserve(const std::string& user, const nlohmann::json& request,
               const std::string& idempotency_key, GateCallback done) override;
  // Commit is idempotent ("commit:<reservation id>", as over REST); a
  // release carries no key: releasing a settled reservation is refused
  // (not_found), which the caller may ignore.
  void commit(const std::string& user, const std::string& reservation_id,
              GateCallback done) override;
  void release(const std::string& user, const std::string& reservation_id,
               GateCallback done) override;
  void opt_out(const std::string& user, const std::string& channel, GateCallback done) override;
  MessageState message_state(const std::string& user, const std::string& message_id,
                             std::string* reservation_id) override;
  void done_with(const std::string& user) override;

 private:
  void call(const std::string& user, const char* handler, nlohmann::json request,
            const std::string& idempotency_key, GateCallback done);

  engine::EntityEngine& entities_;
};

}  // namespace orch::phases::user_actor
