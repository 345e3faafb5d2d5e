// Retention: finished workflows past a cutoff are archived (optionally) and
// deleted from the store and from the summaries in memory.
#include "engine/workflow/workflow_run.h"

#include <cstdio>
#include <set>
#include <unistd.h>

namespace orch::engine {

using nlohmann::json;

void WorkflowEngine::forget_summaries(const std::vector<std::string>& workflow_ids) {
  std::set<std::string> gone(workflow_ids.begin(), workflow_ids.end());
  std::vector<WorkflowSummary> kept;
  kept.reserve(summaries_.size());
  for (WorkflowSummary& s : summaries_) {
    if (gone.count(s.workflow_id)) {
      if (!s.idempotency_key.empty()) by_idempotency_key_.erase(s.idempotency_key);
      continue;
    }
    kept.push_back(std::move(s));
  }
  summaries_ = std::move(kept);
  summary_index_.clear();
  for (std::size_t i = 0; i < summaries_.size(); ++i)
    summary_index_.emplace(summaries_[i].workflow_id, i);
}

void WorkflowEngine::purge_finished(TimeMs cutoff_ms, std::size_t max,
                                    const std::string& archive_path,
                                    std::function<void(Status, std::size_t)> done) {
  std::vector<std::string> ids;
  for (const WorkflowSummary& s : summaries_) {
    if (ids.size() >= max) break;
    if (s.updated_ms < cutoff_ms && !active_.count(s.workflow_id) &&
        (s.status == "completed" || s.status == "failed" || s.status == "cancelled"))
      ids.push_back(s.workflow_id);
  }
  if (ids.empty()) return done(Status::ok(), 0);
  if (!archive_path.empty()) {
    // Archive first, durably: one JSON line per workflow with its journal.
    FILE* out = std::fopen(archive_path.c_str(), "a");
    if (!out) return done(Status::error("cannot open archive " + archive_path), 0);
    for (const std::string& id : ids) {
      std::vector<JournalRecord> records;
      if (Status s = journal_.store().load_workflow(id, &records); !s) {
        std::fclose(out);
        return done(s, 0);
      }
      json line = {{"workflow_id", id}, {"summary_status", summary(id)->status}};
      json recs = json::array();
      for (const JournalRecord& r : records)
        recs.push_back({{"seq", r.seq},
                        {"type", to_string(r.type)},
                        {"time_ms", r.time_ms},
                        {"payload", json::parse(r.payload, nullptr, false)}});
      line["records"] = std::move(recs);
      const std::string text = line.dump() + "\n";
      std::fwrite(text.data(), 1, text.size(), out);
    }
    const bool written = std::fflush(out) == 0 && ::fsync(fileno(out)) == 0;
    std::fclose(out);
    if (!written) return done(Status::error("cannot write archive " + archive_path), 0);
  }
  std::weak_ptr<bool> alive = alive_;
  journal_.run_on_writer(
      [ids](JournalStore& store) { return store.delete_workflows(ids); },
      [this, alive, ids, done = std::move(done)](const Status& s) {
        if (alive.expired()) return;
        if (s) forget_summaries(ids);
        done(s, s ? ids.size() : 0);
      });
}

}  // namespace orch::engine
