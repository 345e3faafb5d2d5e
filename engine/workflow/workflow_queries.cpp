// Queries: one workflow's views (describe, progress, the gate's approvals),
// the long poll on its status, its journal page by page, and the list of
// summaries. They change nothing; finished workflows are read back.
#include "engine/workflow/workflow_run.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "engine/time/time_format.h"
#include "observability/log.h"

namespace orch::engine {

using nlohmann::json;

const WorkflowSummary* WorkflowEngine::summary(const std::string& workflow_id) const {
  auto it = summary_index_.find(workflow_id);
  return it == summary_index_.end() ? nullptr : &summaries_[it->second];
}

QueryResult WorkflowEngine::not_read(const std::string& workflow_id,
                                     const std::string& error) const {
  if (const std::string* why = damage(workflow_id)) return {QueryCode::damaged, json(), *why};
  if (!error.empty()) return {QueryCode::unavailable, json(), error};
  return {QueryCode::not_found, json(), "no workflow " + workflow_id};
}

QueryResult WorkflowEngine::query_back(const std::string& workflow_id,
                                       const std::function<json(const WorkflowState&)>& view) {
  if (damage(workflow_id) || !summary(workflow_id)) return not_read(workflow_id, "");
  std::string error;
  auto state = read_back(workflow_id, &error);
  if (!state) return not_read(workflow_id, error);
  return {QueryCode::found, view(*state), ""};
}

QueryResult WorkflowEngine::describe(const std::string& workflow_id) {
  auto it = active_.find(workflow_id);
  if (it != active_.end()) {
    json out = it->second->state->to_json();
    // Steps waiting for an unavailable service (not journaled: see Workflow).
    for (const auto& [index, until] : it->second->parked) {
      const std::string& step_id = it->second->state->plan().steps[index].id;
      for (json& phase : out["phases"])
        for (json& step : phase["steps"])
          if (step["id"] == step_id) {
            step["status"] = "waiting_for_service";
            step["waiting_until"] = format_time(until);
          }
    }
    if (it->second->stalled)
      out["stalled"] = "journal cap of " + std::to_string(limits_.max_records_per_workflow) +
                       " records reached; an operator must intervene";
    return {QueryCode::found, std::move(out), ""};
  }
  return query_back(workflow_id, [](const WorkflowState& st) { return st.to_json(); });
}

QueryResult WorkflowEngine::approvals(const std::string& workflow_id) {
  if (auto it = active_.find(workflow_id); it != active_.end())
    return {QueryCode::found, it->second->state->gate_view(), ""};
  return query_back(workflow_id, [](const WorkflowState& st) { return st.gate_view(); });
}

QueryResult WorkflowEngine::progress(const std::string& workflow_id) {
  if (auto it = active_.find(workflow_id); it != active_.end())
    return {QueryCode::found, progress_of(*it->second->state), ""};
  return query_back(workflow_id, [this](const WorkflowState& st) { return progress_of(st); });
}

json WorkflowEngine::progress_of(const WorkflowState& st) const {
  const TimeMs end = is_terminal(st.status()) ? st.updated_ms() : clock_.now_ms();
  json out = json_object("workflow_id", st.workflow_id(),
                         "progress_percentage", st.progress_percentage(),
                         "current_phase", st.current_phase_name(),
                         "status", to_string(st.status()),
                         "started_at", format_time(st.created_ms()),
                         "elapsed_seconds", static_cast<double>(end - st.created_ms()) / 1000.0);
  st.add_view_fields(out);
  return out;
}

// ---------------------------------------------------------------- long poll

struct WorkflowEngine::StatusWaiter {
  explicit StatusWaiter(boost::asio::io_context& io) : timer(io) {}
  std::vector<std::string> statuses;
  std::function<void(QueryResult)> done;
  boost::asio::steady_timer timer;
  bool fired = false;
};

void WorkflowEngine::await_status(const std::string& workflow_id,
                                  std::vector<std::string> statuses,
                                  std::chrono::milliseconds max_wait,
                                  std::function<void(QueryResult)> done) {
  auto it = active_.find(workflow_id);
  const bool on_disk = it == active_.end() && passive_.count(workflow_id);
  // A workflow on disk has the status of its summary row.
  const std::string status = it != active_.end() ? to_string(it->second->state->status())
                             : on_disk           ? summary(workflow_id)->status
                                                 : std::string();
  const bool wanted = std::find(statuses.begin(), statuses.end(), status) != statuses.end();
  if (status.empty() || wanted || max_wait.count() <= 0) return done(progress(workflow_id));
  auto waiter = std::make_shared<StatusWaiter>(io_);
  waiter->statuses = std::move(statuses);
  waiter->done = std::move(done);
  status_waiters_[workflow_id].push_back(waiter);
  waiter->timer.expires_after(max_wait);
  std::weak_ptr<bool> alive = alive_;
  waiter->timer.async_wait([this, alive, waiter, workflow_id](const boost::system::error_code&) {
    if (alive.expired() || waiter->fired) return;
    waiter->fired = true;
    if (auto w = status_waiters_.find(workflow_id); w != status_waiters_.end()) {
      std::erase(w->second, waiter);
      if (w->second.empty()) status_waiters_.erase(w);
    }
    waiter->done(progress(workflow_id));
  });
}

// Runs once a status change is durable.
void WorkflowEngine::notify_status(const WorkflowPtr& wf) {
  auto it = status_waiters_.find(wf->state->workflow_id());
  if (it == status_waiters_.end()) return;
  const std::string status = to_string(wf->state->status());
  std::vector<std::shared_ptr<StatusWaiter>> ready;
  std::erase_if(it->second, [&](const std::shared_ptr<StatusWaiter>& w) {
    if (std::find(w->statuses.begin(), w->statuses.end(), status) == w->statuses.end())
      return false;
    ready.push_back(w);
    return true;
  });
  if (it->second.empty()) status_waiters_.erase(it);
  if (ready.empty()) return;
  const json p = progress_of(*wf->state);
  for (const auto& w : ready) {
    w->fired = true;
    w->timer.cancel();
    w->done({QueryCode::found, p, ""});
  }
}

QueryResult WorkflowEngine::history(const std::string& workflow_id, std::uint64_t from_seq,
                                    std::size_t max_records, std::size_t max_bytes) {
  if (damage(workflow_id) || !summary(workflow_id)) return not_read(workflow_id, "");
  JournalStore::WorkflowPage page;
  if (Status s = journal_.store().load_workflow_page(workflow_id, from_seq, max_records,
                                                     max_bytes, &page);
      !s) {
    if (!s.is_corruption()) return not_read(workflow_id, s.message());
    // A workflow running in memory carries on (a restart would quarantine
    // it); one on disk cannot be read back any more.
    if (!active_.count(workflow_id)) quarantine(workflow_id, s.message());
    observability::log(observability::LogLevel::error, "journal damaged",
                       {{"workflow_id", workflow_id}, {"error", s.message()}});
    return {QueryCode::damaged, json(), s.message()};
  }
  json records = json::array();
  for (const JournalRecord& r : page.records)
    records.push_back({{"seq", r.seq},
                       {"type", to_string(r.type)},
                       {"time", format_time(r.time_ms)},
                       {"data", json::parse(r.payload, nullptr, false)}});
  const std::uint64_t next = page.more ? page.records.back().seq + 1 : 0;
  return {QueryCode::found,
          json_object("records", std::move(records), "total", page.last_seq, "more", page.more,
                      "byte_limited", page.byte_limited, "next_seq", next),
          ""};
}

ListPage WorkflowEngine::list(const ListQuery& query) const {
  ListPage page;
  const std::size_t first = (query.page - 1) * query.page_size;
  static const std::string kCorrupt = "corrupt";
  for (auto it = summaries_.rbegin(); it != summaries_.rend(); ++it) {
    const bool damaged = !damaged_.empty() && damaged_.count(it->workflow_id);
    const std::string& status = damaged ? kCorrupt : it->status;
    if (!query.status.empty() && status != query.status) continue;
    if (!query.phase.empty() && it->phase != query.phase) continue;
    if (page.total_count >= first && page.rows.size() < query.page_size) {
      page.rows.push_back(*it);
      if (damaged) page.rows.back().status = kCorrupt;
    }
    ++page.total_count;
  }
  return page;
}

}  // namespace orch::engine
