#include "engine/store/wal_checkpointer.h"

#include <sqlite3.h>

#include <algorithm>

#include "observability/log.h"

namespace orch::engine {

namespace {

// Passive rounds per wake-up: each copies what the writer appended during the
// one before, so a few leave only the frames of the last commits or so.
constexpr int kMaxRounds = 4;

void warn(const char* what, sqlite3* db, int rc) {
  observability::log(observability::LogLevel::warn, what,
                     {{"sqlite_code", rc}, {"detail", db ? sqlite3_errmsg(db) : ""}});
}

}  // namespace

std::unique_ptr<WalCheckpointer> WalCheckpointer::start(const std::string& path,
                                                        int threshold_pages, std::string* error) {
  std::unique_ptr<WalCheckpointer> c(new WalCheckpointer());
  c->threshold_ = std::max(1, threshold_pages);
  c->next_trigger_ = c->threshold_;
  if (sqlite3_open_v2(path.c_str(), &c->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    *error = "cannot open journal checkpointer " + path + ": " + sqlite3_errmsg(c->db_);
    return nullptr;
  }
  // It never commits, so it has no automatic checkpoint of its own to turn
  // off. Its checkpoints fsync the database as the writer's would
  // (synchronous=FULL), before the log may start over. A connection opens
  // the log only when it first reads; until then a checkpoint through it
  // does nothing and says so only by a log size of -1.
  char* message = nullptr;
  if (sqlite3_exec(c->db_, "PRAGMA synchronous=FULL; SELECT count(*) FROM sqlite_master;",
                   nullptr, nullptr, &message) != SQLITE_OK) {
    *error = "cannot open journal checkpointer " + path + ": " + (message ? message : "");
    sqlite3_free(message);
    return nullptr;
  }
  c->thread_ = std::thread([p = c.get()] { p->run(); });
  return c;
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  // The last connection to close copies what is left and removes the log.
  if (db_) sqlite3_close(db_);
}

void WalCheckpointer::watch(sqlite3* db) { sqlite3_wal_hook(db, &WalCheckpointer::on_commit, this); }

int WalCheckpointer::on_commit(void* self, sqlite3* db, const char* schema, int pages) {
  return static_cast<WalCheckpointer*>(self)->commit_hook(db, schema, pages);
}

int WalCheckpointer::commit_hook(sqlite3* db, const char* schema, int pages) {
  bool finish = false;
  {
    std::lock_guard lock(mu_);
    if (pages < last_pages_) {  // this commit began the log anew
      ++stats_.restarts;
      next_trigger_ = threshold_;
      copied_ = 0;
    }
    last_pages_ = pages;
    stats_.max_pages = std::max<std::uint64_t>(stats_.max_pages, static_cast<std::uint64_t>(pages));
    if (state_ == State::finishing) {
      state_ = State::idle;
      finish = true;
      ++stats_.finishing;
      // Had a reader kept the log from starting over, look again only after
      // it grew by a quarter of the threshold, not at every commit.
      next_trigger_ = pages + std::max(1, threshold_ / 4);
    } else if (state_ == State::idle && pages >= next_trigger_) {
      state_ = State::copying;
      cv_.notify_one();
    }
  }
  if (finish) {
    // The remainder: the frames appended while the thread was copying. The
    // writer's next transaction then finds every frame copied and starts the
    // log over.
    int log = 0;
    int copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) warn("journal checkpoint failed", db, rc);
    std::lock_guard lock(mu_);
    if (copied > copied_) stats_.finishing_frames += static_cast<std::uint64_t>(copied - copied_);
    copied_ = std::max(copied_, copied);
  }
  return SQLITE_OK;
}

void WalCheckpointer::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || state_ == State::copying; });
    if (stop_) return;
    lock.unlock();
    copy();
    lock.lock();
    state_ = State::finishing;
  }
}

void WalCheckpointer::copy() {
  // Little enough for a commit hook to copy: 1/16 of the threshold, and at
  // least 16 pages.
  const int small = std::max(16, threshold_ / 16);
  for (int round = 0; round < kMaxRounds; ++round) {
    int log = 0;
    int copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    if (rc == SQLITE_BUSY) return;  // another checkpoint is running: it will do
    if (rc != SQLITE_OK || log < 0) {
      warn("journal checkpoint failed", db_, rc);
      return;
    }
    bool wrote = false;
    {
      std::lock_guard lock(mu_);
      ++stats_.background;
      if (copied > copied_) {
        stats_.background_frames += static_cast<std::uint64_t>(copied - copied_);
        wrote = true;
      }
      copied_ = std::max(copied_, copied);
    }
    if (wrote) sync_database();
    if (log - copied <= small) return;
  }
}

// A checkpoint that stops short of the log's end (the writer appended while
// it copied) leaves the database file unsynced: SQLite syncs it only in the
// checkpoint that reaches the end, since the log still holds every frame
// until then. That one runs in a commit hook, so it would flush all the
// pages this thread wrote, on the writer's time. Syncing here, through
// SQLite's own file handle and VFS, leaves it the remainder's pages only.
void WalCheckpointer::sync_database() {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || !file ||
      !file->pMethods)
    return;
  if (const int rc = file->pMethods->xSync(file, SQLITE_SYNC_NORMAL); rc != SQLITE_OK)
    warn("journal checkpoint could not sync the database", db_, rc);
}

WalCheckpointer::Stats WalCheckpointer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace orch::engine
