// The saga's registry of undo actions. A compensable step registers its
// compensation when it completes; unwinding runs them newest first, one at a
// time, each retried until it succeeds. Pure data: the engine journals every
// transition and rebuilds this stack from the journal. What a compensation
// needs to undo (the step's output: ids to delete...) stays with the
// workflow's outputs, which the engine hands to it; the stack keeps order and
// status only, so a completed step's output is held once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace orch::compensation {

enum class CompensationStatus { pending, running, retry_wait, completed };
const char* to_string(CompensationStatus status);

struct Compensation {
  std::string step_id;
  std::string activity;
  std::uint64_t registered_seq = 0;  // journal seq of the step's completion
  CompensationStatus status = CompensationStatus::pending;
  int attempts = 0;
  std::string last_error;
  std::int64_t retry_at_ms = 0;
  std::int64_t started_ms = 0;
  std::int64_t completed_ms = 0;
};

class CompensationStack {
 public:
  // Registers the undo of a completed step. Registration order is the journal
  // order, so the stack's top is always the newest completion.
  void register_completed(std::string step_id, std::string activity, std::uint64_t seq);

  // The next compensation to run (newest first), or nullptr when all ran.
  Compensation* next();
  const Compensation* next() const;
  Compensation* find(const std::string& step_id);

  bool all_completed() const { return next() == nullptr; }
  bool empty() const { return entries_.empty(); }
  std::size_t size() const { return entries_.size(); }

  // Unwind order: newest registration first.
  std::vector<const Compensation*> unwind_order() const;
  // [{step, activity, status, attempts, last_error?, completed_at_ms?}] newest first.
  nlohmann::json to_json() const;

 private:
  std::vector<Compensation> entries_;  // oldest first
};

}  // namespace orch::compensation
