// One durable transition of one workflow. A workflow's state is a pure
// function of its records (see workflow_state.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/time/clock.h"

namespace orch::engine {

enum class RecordType : int {
  workflow_started = 1,        // {definition, version, input, run_id, idempotency_key, trace_id}
  step_scheduled = 2,          // {step, attempt}
  step_completed = 3,          // {step, attempt, output}
  step_failed = 4,             // {step, attempt, error, retryable, retry_at?}
  signal_received = 5,         // {name, payload, key}
  cancel_requested = 6,        // {reason, by}
  approval_timed_out = 7,      // {deadline}
  compensation_scheduled = 8,  // {step, attempt}
  compensation_completed = 9,  // {step, attempt, output}
  compensation_failed = 10,    // {step, attempt, error, retry_at}
  workflow_finished = 11,      // {status, reason}
  approval_escalated = 12,     // {deadline, reviewers}
  history_limit_reached = 13,  // {limit}
  step_reset = 14,             // {step, reason}: an operator's redrive of a paused step
  workflow_paused = 15,        // {reason, actor?}: held before a phase (pause/resume)
  workflow_resumed = 16,       // {reason, actor?}
  // Durable keyed entities (engine/entity/): the journal id is "kind:key".
  entity_started = 17,         // {}: the entity's first record
  entity_call = 18,            // {handler, request, key}: an exclusive handler's call
  entity_snapshot = 19,        // {state, answers}: everything before it, folded
};

const char* to_string(RecordType type);
std::optional<RecordType> record_type_from_int(int value);

struct JournalRecord {
  std::string workflow_id;
  std::uint64_t seq = 0;  // 1-based, dense per workflow
  RecordType type = RecordType::workflow_started;
  TimeMs time_ms = 0;
  std::string payload;  // JSON object text

  // CRC-32 over every field above; stored beside the record and verified on read.
  std::uint32_t checksum() const;
};

}  // namespace orch::engine
