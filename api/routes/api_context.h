// What the routes work with: the engines, the store, the metrics, the clock
// and the services' guards. One per server, used on the engine's thread.
#pragma once

#include <cstdint>

namespace orch::engine {
class Clock;
class EntityEngine;
class Journal;
class JournalStore;
class WorkflowEngine;
}  // namespace orch::engine
namespace orch::observability {
class Metrics;
}
namespace orch::adapters {
class ServiceGuards;
}
namespace orch::phases::broadcast {
class Broadcasts;
}
namespace orch::phases::triggers {
class EventTriggers;
}

namespace orch::api {

struct ApiContext {
  engine::WorkflowEngine& workflows;
  engine::EntityEngine& entities;
  engine::JournalStore& store;
  observability::Metrics& metrics;
  engine::Clock& clock;
  adapters::ServiceGuards* guards = nullptr;  // null: no adapters (GET /v1/adapters is empty)
  std::uint64_t draft_counter = 0;            // wizard drafts saved by this process
  // Customers and broadcasts write through the journal's writer thread.
  engine::Journal* journal = nullptr;
  phases::broadcast::Broadcasts* broadcasts = nullptr;
  // Events, trigger campaigns and the dead-letter queue.
  phases::triggers::EventTriggers* triggers = nullptr;
};

}  // namespace orch::api
