#include "engine/journal/journal_record.h"

#include "engine/journal/crc32.h"

namespace orch::engine {

const char* to_string(RecordType type) {
  switch (type) {
    case RecordType::workflow_started: return "workflow_started";
    case RecordType::step_scheduled: return "step_scheduled";
    case RecordType::step_completed: return "step_completed";
    case RecordType::step_failed: return "step_failed";
    case RecordType::signal_received: return "signal_received";
    case RecordType::cancel_requested: return "cancel_requested";
    case RecordType::approval_timed_out: return "approval_timed_out";
    case RecordType::compensation_scheduled: return "compensation_scheduled";
    case RecordType::compensation_completed: return "compensation_completed";
    case RecordType::compensation_failed: return "compensation_failed";
    case RecordType::workflow_finished: return "workflow_finished";
    case RecordType::approval_escalated: return "approval_escalated";
    case RecordType::history_limit_reached: return "history_limit_reached";
    case RecordType::step_reset: return "step_reset";
    case RecordType::workflow_paused: return "workflow_paused";
    case RecordType::workflow_resumed: return "workflow_resumed";
    case RecordType::entity_started: return "entity_started";
    case RecordType::entity_call: return "entity_call";
    case RecordType::entity_snapshot: return "entity_snapshot";
  }
  return "unknown";
}

std::optional<RecordType> record_type_from_int(int value) {
  if (value < static_cast<int>(RecordType::workflow_started) ||
      value > static_cast<int>(RecordType::entity_snapshot))
    return std::nullopt;
  return static_cast<RecordType>(value);
}

std::uint32_t JournalRecord::checksum() const {
  Crc32 crc;
  crc.update(workflow_id.data(), workflow_id.size());
  crc.update_byte(0);
  const std::uint64_t fixed[3] = {seq, static_cast<std::uint64_t>(type),
                                  static_cast<std::uint64_t>(time_ms)};
  crc.update(fixed, sizeof(fixed));
  crc.update(payload.data(), payload.size());
  return crc.value();
}

}  // namespace orch::engine
