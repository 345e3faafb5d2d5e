// A human gate: once its phase's steps are done, the workflow waits for a
// decision signal (approve or reject) until a deadline. The engine owns the
// mechanics: the signals' names, the deadline and its one escalation,
// journaling the decisions it accepts with their audit trail, unwinding on a
// rejection or a timeout. The workflow kind owns the rules (GateRules):
// which decisions it accepts, when enough were given, and how its tally
// reads in the workflow's views.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/time/clock.h"
#include "engine/workflow/signal_result.h"

namespace orch::engine {

class WorkflowState;

// One human action on a workflow, as journaled: who, when, what, with which
// comment and through which API token (its id, never the secret).
struct AuditEntry {
  std::string action;  // submitted, approved, rejected, cancelled, paused, resumed, or a
                       // patch signal's audit_action
  std::string actor;   // who decided, or the token's subject ("" = unknown)
  std::string role;    // the token's role ("" = authentication off)
  std::string token;   // the token's id
  std::string level;   // decisions: what the gate's rules say was decided
  int round = 0;       // decisions: the rules' round (a withdrawal starts a new one)
  std::string comment; // comment, or the reason of a rejection, cancel or pause
  std::string detail;  // patches: the key patched
  TimeMs at_ms = 0;
  std::uint64_t seq = 0;
};

// The decisions one run's gate was given, folded like the rest of the
// state: the same journaled decisions always give the same tally.
class GateTally {
 public:
  virtual ~GateTally() = default;

  // Whether a decision may be journaled, asked while the gate is open and
  // undecided: accepted (the tally may stamp `payload` with what its fold
  // needs), or refused with what the caller hears; nothing is journaled then.
  virtual SignalResult judge(const WorkflowState& st, bool approve,
                             nlohmann::json& payload) const = 0;
  // Folds a journaled decision in and completes its audit entry (the
  // engine has set action, time, seq and the token's identity). For a
  // rejection, returns the reason the saga unwinds with.
  virtual std::string count(bool approve, const nlohmann::json& payload, AuditEntry& entry) = 0;
  // A patch withdrew the decisions given so far: those who decided saw
  // what the patch changed.
  virtual void withdraw() = 0;
  // Enough was approved: the workflow goes on past the gate.
  virtual bool passed() const = 0;

  // Adds the tally to the workflow's full view (WorkflowState::to_json).
  virtual void describe(const WorkflowState& st, nlohmann::json& view) const = 0;
  // The gate's own view: its tally and the workflow's audit trail.
  virtual nlohmann::json view(const WorkflowState& st) const = 0;
};

// A kind's rules for its gate; shared by every run, immutable.
class GateRules {
 public:
  virtual ~GateRules() = default;
  // A run's tally, from its input: a pure function of it, so replay builds
  // the same.
  virtual std::unique_ptr<GateTally> open(const nlohmann::json& input) const = 0;
};

// Waits after its phase's steps until `approve_signal` passes it (as the
// rules count) or `reject_signal` unwinds the saga. A definition has at
// most one gate.
struct GateDefinition {
  std::string approve_signal = "approve";
  std::string reject_signal = "reject";
  std::chrono::milliseconds default_timeout{72LL * 3600 * 1000};
  std::string timeout_input_field;  // optional input override, in seconds
  // JSON pointer to an input array of second-line reviewers: when the first
  // deadline passes and it is non-empty, the gate escalates to them for one
  // more timeout instead of timing out. Whom the rules then accept is theirs.
  std::string escalation_reviewers_pointer;
  // REQUIRES: set (a workflow whose gate has no rules does not start).
  std::shared_ptr<const GateRules> rules;
};

}  // namespace orch::engine
