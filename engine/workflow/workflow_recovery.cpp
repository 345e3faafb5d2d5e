// Start-up replay and quarantine: recover() loads the summaries and rebuilds
// every unfinished workflow from its journal (leaving those that wait for a
// human on disk); a journal that fails its checks sets its workflow aside.
#include "engine/workflow/workflow_run.h"

#include "observability/log.h"
#include "observability/metrics.h"

namespace orch::engine {

using nlohmann::json;

std::unique_ptr<WorkflowState> WorkflowEngine::rebuild(const std::vector<JournalRecord>& records,
                                                       std::string* error) const {
  if (records.empty()) {
    *error = "no records";
    return nullptr;
  }
  json started = json::parse(records.front().payload, nullptr, false);
  const std::string name = started.is_object() ? started.value("definition", "") : "";
  const WorkflowDefinition* def = definitions_.find(name);
  if (!def) {
    *error = "workflow " + records.front().workflow_id + " uses unknown definition '" + name + "'";
    return nullptr;
  }
  auto state = WorkflowState::start(records.front(), std::move(started), *def, error);
  if (!state) return nullptr;
  for (std::size_t i = 1; i < records.size(); ++i) {
    if (Status s = state->apply(records[i]); !s) {
      *error = s.message();
      return nullptr;
    }
  }
  return state;
}

Status WorkflowEngine::recover() {
  std::vector<WorkflowSummary> rows;
  if (Status s = journal_.store().load_summaries(&rows); !s) return s;
  // A workflow that waits for a human stays on disk (see EngineLimits) when
  // its summary knows its wake-up; only its deadline, if any, is armed.
  const bool lazy = limits_.passivate_after_ms >= 0;
  for (WorkflowSummary& row : rows) {
    const bool unfinished = !damage(row.workflow_id) && row.status != "completed" &&
                            row.status != "failed" && row.status != "cancelled";
    if (unfinished && metrics_) metrics_->active_transition("", "", row.status, row.phase);
    if (unfinished && lazy && row.wake_ms >= 0 && waits_for_human(row.status)) {
      if (row.wake_ms > 0) timers_.arm(row.workflow_id, row.wake_ms);
      passive_.insert(row.workflow_id);
    }
    remember_summary(std::move(row));
  }
  // A damaged workflow is quarantined; the others carry on.
  std::vector<WorkflowPtr> resumed;
  Status s = journal_.store().load_unfinished(
      [&](std::vector<JournalRecord>&& records) {
        if (damage(records.front().workflow_id)) return;
        std::string error;
        auto state = rebuild(records, &error);
        if (!state) return quarantine(records.front().workflow_id, "cannot rebuild: " + error);
        WorkflowPtr wf = resume(std::move(state));
        active_.emplace(wf->state->workflow_id(), wf);
        resumed.push_back(std::move(wf));
      },
      lazy ? waiting_statuses() : std::vector<std::string>{},
      [&](const std::string& workflow_id, const Status& why) {
        quarantine(workflow_id, why.message());
      });
  if (!s) return s;
  if (metrics_) metrics_->workflows_resident(active_.size());
  for (const WorkflowPtr& wf : resumed) advance(wf);
  return Status::ok();
}

std::unique_ptr<WorkflowState> WorkflowEngine::read_back(const std::string& workflow_id,
                                                         std::string* error) {
  std::string ignored;
  if (!error) error = &ignored;
  std::vector<JournalRecord> records;
  if (Status s = journal_.store().load_workflow(workflow_id, &records); !s) {
    *error = "cannot read workflow " + workflow_id + " back from the journal: " + s.message();
    if (s.is_corruption()) quarantine(workflow_id, s.message());
    return nullptr;
  }
  auto state = rebuild(records, error);
  if (!state) {
    *error = "cannot rebuild workflow " + workflow_id + ": " + *error;
    quarantine(workflow_id, *error);
  }
  return state;
}

void WorkflowEngine::quarantine(const std::string& workflow_id, const std::string& why) {
  if (!damaged_.emplace(workflow_id, why).second) return;
  observability::log(observability::LogLevel::error, "workflow quarantined: its journal is damaged",
                     {{"workflow_id", workflow_id}, {"error", why}});
  passive_.erase(workflow_id);
  timers_.cancel(workflow_id);
  if (metrics_) {
    metrics_->workflows_corrupt(damaged_.size());
    const WorkflowSummary* row = summary(workflow_id);
    if (row && row->status != "completed" && row->status != "failed" && row->status != "cancelled")
      metrics_->active_transition(row->status, row->phase, "", "");
  }
}

const std::string* WorkflowEngine::damage(const std::string& workflow_id) const {
  auto it = damaged_.find(workflow_id);
  return it == damaged_.end() ? nullptr : &it->second;
}

std::vector<std::string> WorkflowEngine::damaged_ids(std::size_t max) const {
  std::vector<std::string> ids;
  for (auto it = damaged_.begin(); it != damaged_.end() && ids.size() < max; ++it)
    ids.push_back(it->first);
  return ids;
}

}  // namespace orch::engine
