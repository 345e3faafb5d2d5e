#include "engine/journal/journal.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <algorithm>
#include <chrono>
#include <unordered_map>

namespace orch::engine {

Journal::Journal(JournalStore& store, boost::asio::io_context& io)
    : store_(store), io_(io), writer_([this] { run(); }) {}

Journal::~Journal() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
  // Reached only when every append was durable (a failed one aborts the
  // process from its callback before it could stop cleanly).
  if (!failed_) store_.mark_clean_shutdown();
}

void Journal::append(std::vector<JournalRecord> records, std::vector<WorkflowSummary> summaries,
                     Done done) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(Pending{std::move(records), std::move(summaries), std::move(done), {}, {}});
  }
  wake_.notify_one();
}

void Journal::run_on_writer(std::function<Status(JournalStore&)> task, Done done) {
  {
    std::lock_guard lock(mu_);
    Pending p;
    p.done = std::move(done);
    p.task = std::move(task);
    queue_.push_back(std::move(p));
  }
  wake_.notify_one();
}

void Journal::set_commit_observer(CommitObserver observer) {
  std::lock_guard lock(mu_);
  observer_ = std::move(observer);
}

JournalStats Journal::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Journal::run() {
  std::vector<Pending> batch;
  std::vector<JournalRecord> records;
  std::vector<WorkflowSummary> summaries;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      // A task runs alone: take everything before it, then the task next time.
      auto task = std::find_if(queue_.begin(), queue_.end(), [](const Pending& p) { return p.task; });
      if (task == queue_.begin()) {
        batch.push_back(std::move(queue_.front()));
        queue_.erase(queue_.begin());
      } else {
        batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(task));
        queue_.erase(queue_.begin(), task);
      }
    }
    if (batch.size() == 1 && batch.front().task) {
      batch.front().task_status = batch.front().task(store_);
      boost::asio::post(io_, [p = std::move(batch.front())]() mutable {
        if (p.done) p.done(p.task_status);
      });
      batch = {};
      continue;
    }
    records.clear();
    summaries.clear();
    // Later summaries of the same workflow supersede earlier ones in a batch.
    std::unordered_map<std::string, std::size_t> summary_index;
    // Records are moved here and back after the commit, and summaries are
    // copied, so that what the engine thread allocated is also freed there.
    // glibc's per-thread cache takes a chunk freed by another thread into
    // the freeing thread's cache: a writer that freed the engine's strings
    // would leave the engine thread to refill from the shared arena, under
    // its lock (with perf under the benchmark: the engine thread's
    // _int_malloc and arena mutex went from 3.1 % to 2.6 % of all samples).
    for (Pending& p : batch) {
      for (JournalRecord& r : p.records) records.push_back(std::move(r));
      for (const WorkflowSummary& s : p.summaries) {
        auto [it, inserted] = summary_index.emplace(s.workflow_id, summaries.size());
        if (inserted) {
          summaries.push_back(s);
        } else {
          summaries[it->second].update_from(s);
        }
      }
    }
    Status status = Status::ok();
    const auto started = std::chrono::steady_clock::now();
    if (!records.empty() || !summaries.empty()) status = store_.append(records, summaries);
    if (!status) failed_ = true;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    CommitObserver observer;
    {
      std::lock_guard lock(mu_);
      stats_.appends += batch.size();
      if (!records.empty() || !summaries.empty()) {
        stats_.commits += 1;
        stats_.records += records.size();
      }
      observer = observer_;
    }
    if (observer && (!records.empty() || !summaries.empty()))
      observer(batch.size(), records.size(), seconds);
    std::size_t next = 0;
    for (Pending& p : batch)
      for (JournalRecord& r : p.records) r = std::move(records[next++]);
    // One post per batch keeps the io thread's queue short under load.
    boost::asio::post(io_, [batch = std::move(batch), status]() mutable {
      for (Pending& p : batch)
        if (p.done) p.done(status);
    });
    batch = {};
  }
}

}  // namespace orch::engine
