// Group commit in front of a JournalStore. Appends from many workflows are
// gathered by one writer thread into a single transaction and a single fsync;
// each caller's callback runs on the io_context only after its records are
// durable, so nothing is acted on or acknowledged before it survives a crash.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/journal/journal_store.h"

namespace boost::asio {
class io_context;
}

namespace orch::engine {

struct JournalStats {
  std::uint64_t records = 0;
  std::uint64_t commits = 0;  // transactions == fsyncs
  std::uint64_t appends = 0;  // append() calls served
};

class Journal {
 public:
  using Done = std::function<void(const Status&)>;
  // Observes each commit: number of appends in the batch, records, seconds.
  using CommitObserver = std::function<void(std::size_t appends, std::size_t records,
                                            double seconds)>;

  Journal(JournalStore& store, boost::asio::io_context& io);
  ~Journal();  // drains pending appends, then joins the writer
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Thread-safe. `done` is posted to the io_context after the commit.
  void append(std::vector<JournalRecord> records, std::vector<WorkflowSummary> summaries,
              Done done);
  // Calls `done` once everything appended before this call is durable.
  void flush(Done done) { append({}, {}, std::move(done)); }

  // Runs `task` on the writer thread, after everything appended before it is
  // durable and before anything appended after; `done` gets its status.
  void run_on_writer(std::function<Status(JournalStore&)> task, Done done);

  void set_commit_observer(CommitObserver observer);
  JournalStats stats() const;
  JournalStore& store() { return store_; }

 private:
  struct Pending {
    std::vector<JournalRecord> records;
    std::vector<WorkflowSummary> summaries;
    Done done;
    std::function<Status(JournalStore&)> task;  // exclusive work, if any
    Status task_status;
  };
  void run();

  // Constant after construction.
  JournalStore& store_;
  boost::asio::io_context& io_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Pending> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;       // GUARDED_BY(mu_)
  JournalStats stats_;          // GUARDED_BY(mu_)
  CommitObserver observer_;     // GUARDED_BY(mu_)
  bool failed_ = false;          // writer thread only (read after it is joined)
  std::thread writer_;
};

}  // namespace orch::engine
