#include "compensation/compensation_stack.h"

namespace orch::compensation {

const char* to_string(CompensationStatus status) {
  switch (status) {
    case CompensationStatus::pending: return "pending";
    case CompensationStatus::running: return "running";
    case CompensationStatus::retry_wait: return "retry_wait";
    case CompensationStatus::completed: return "completed";
  }
  return "unknown";
}

void CompensationStack::register_completed(std::string step_id, std::string activity,
                                           std::uint64_t seq) {
  Compensation c;
  c.step_id = std::move(step_id);
  c.activity = std::move(activity);
  c.registered_seq = seq;
  entries_.push_back(std::move(c));
}

Compensation* CompensationStack::next() {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it)
    if (it->status != CompensationStatus::completed) return &*it;
  return nullptr;
}

const Compensation* CompensationStack::next() const {
  return const_cast<CompensationStack*>(this)->next();
}

Compensation* CompensationStack::find(const std::string& step_id) {
  for (Compensation& c : entries_)
    if (c.step_id == step_id) return &c;
  return nullptr;
}

std::vector<const Compensation*> CompensationStack::unwind_order() const {
  std::vector<const Compensation*> out;
  out.reserve(entries_.size());
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) out.push_back(&*it);
  return out;
}

nlohmann::json CompensationStack::to_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const Compensation* c : unwind_order()) {
    nlohmann::json j = {{"step", c->step_id},
                        {"activity", c->activity},
                        {"status", to_string(c->status)},
                        {"attempts", c->attempts}};
    if (!c->last_error.empty()) j["last_error"] = c->last_error;
    if (c->completed_ms) j["completed_at_ms"] = c->completed_ms;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace orch::compensation
