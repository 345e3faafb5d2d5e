// Checkpoints a SQLite write-ahead log on a thread of its own, so the journal
// writer is not the one that copies the log back into the database.
//
// Why by hand: SQLite's automatic checkpoint (wal_autocheckpoint) runs inside
// the COMMIT that crosses its threshold, on the committing connection. At the
// standard benchmark's load that stopped the journal writer for 20-27 ms
// (about 2,000 pages copied, then the database fsynced) every 0.65 s, and
// every workflow waiting for a commit waited with it. SQLite has the pieces
// (sqlite3_wal_hook; sqlite3_wal_checkpoint_v2 from another connection, which
// in WAL mode runs beside the writer) but no thread that uses them.
//
// How:
// - The commit hook of each watched connection only compares the log's size
//   with the threshold and wakes the thread.
// - The thread runs PASSIVE checkpoints on its own connection while commits go
//   on, until little is left to copy.
// - The log starts over from its beginning only if, when the writer begins a
//   transaction, every frame in it has been copied. A checkpoint running
//   beside a busy writer never sees that. So the committing connection copies
//   the last few frames itself, in its next commit hook: what SQLite's own
//   automatic checkpoint does, but for tens or hundreds of pages, not
//   thousands.
//
// Crash safety is SQLite's: a checkpoint from any connection is atomic with
// respect to the log, whichever thread runs it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

struct sqlite3;

namespace orch::engine {

class WalCheckpointer {
 public:
  struct Stats {
    std::uint64_t background = 0;  // passive checkpoints run by the thread
    std::uint64_t finishing = 0;   // remainders copied in a commit hook
    std::uint64_t background_frames = 0;  // log frames the thread copied
    std::uint64_t finishing_frames = 0;   // log frames commit hooks copied
    std::uint64_t restarts = 0;    // times a commit found the log started over
    std::uint64_t max_pages = 0;   // the largest log a commit reported
  };

  // Opens a connection of its own to `path`, a database already in WAL mode,
  // and starts the thread. `threshold_pages` > 0.
  static std::unique_ptr<WalCheckpointer> start(const std::string& path, int threshold_pages,
                                                std::string* error);
  // Stops the thread (after the checkpoint in progress) and closes its
  // connection. REQUIRES: every watched connection is closed first.
  ~WalCheckpointer();

  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Takes over `db`'s checkpoints: replaces its automatic checkpoint.
  void watch(sqlite3* db);

  Stats stats() const;

 private:
  enum class State { idle, copying, finishing };

  WalCheckpointer() = default;
  static int on_commit(void* self, sqlite3* db, const char* schema, int pages);
  int commit_hook(sqlite3* db, const char* schema, int pages);
  void run();
  void copy();
  void sync_database();

  int threshold_ = 0;
  sqlite3* db_ = nullptr;  // the thread's own connection

  mutable std::mutex mu_;
  std::condition_variable cv_;
  State state_ = State::idle;  // GUARDED_BY(mu_)
  bool stop_ = false;          // GUARDED_BY(mu_)
  int last_pages_ = 0;         // GUARDED_BY(mu_)
  int next_trigger_ = 0;       // GUARDED_BY(mu_)
  int copied_ = 0;             // GUARDED_BY(mu_): frames of this log copied so far
  Stats stats_;                // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace orch::engine
