// The journal's high-water mark: the newest commit known durable, kept in a
// small file beside the database (`<db>.hwm`), outside SQLite's own files.
//
// Why outside: SQLite recovers a store from its database and write-ahead log
// alone. A log damaged in the middle (SQLite drops every frame after the
// first bad one), a log cut short, a database truncated or replaced: each
// leaves a smaller store that SQLite opens as if nothing were missing. A
// mark that survives them tells the two apart: a store holding less than
// its mark lost committed data.
//
// When it is written: after each commit that added records, once SQLite's
// COMMIT returned (so after the log's fsync): one 28-byte pwrite, about
// 0.5 us, against the commit's ~2 ms fsync. The mark is never ahead of what
// is durable in the log or database, so no crash can make it claim too much.
// It is fsynced itself only when created, every kSyncEveryCommits commits
// and at a clean shutdown: a process crash (kill -9, abort) keeps the page
// cache and so the last mark; a power loss or kernel crash can leave an
// older mark, which detects less but never raises a false alarm.
//
// Format: two 512-byte slots written in turn, each
//   "ORCHHWM1" | commit (u64 LE) | offset (i64 LE) | CRC-32 of the 24 bytes before.
// A write torn across a slot leaves the other slot's older, valid value.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/common/status.h"

namespace orch::engine {

class HighWaterMark {
 public:
  struct Value {
    std::uint64_t commit = 0;  // the journal's batch number of that commit
    std::int64_t offset = 0;   // the newest journal record's offset in it
  };
  enum class State { absent, readable, unreadable };
  struct Reading {
    State state = State::absent;
    Value value;  // the slot with the higher commit; zero unless readable
  };

  // A file sync every this many advances.
  static constexpr std::uint64_t kSyncEveryCommits = 1024;

  // The mark file's path for the database at `db_path`.
  static std::string path_for(const std::string& db_path);

  // Reads the mark without creating or changing anything.
  static Reading read(const std::string& path);

  // Opens the mark for advance(), creating it (and fsyncing it and its
  // directory) with `initial` if it is absent or unreadable. A readable mark
  // is kept as it is: open() never moves it.
  static std::unique_ptr<HighWaterMark> open(const std::string& path, const Reading& found,
                                             Value initial, Status* status);
  ~HighWaterMark();
  HighWaterMark(const HighWaterMark&) = delete;
  HighWaterMark& operator=(const HighWaterMark&) = delete;

  // Records `value`, a commit that is durable now. REQUIRES: commits only
  // grow from one call to the next; one thread at a time (the writer's).
  Status advance(Value value);
  // Makes the last advance() durable (fdatasync).
  Status sync();

 private:
  explicit HighWaterMark(int fd) : fd_(fd) {}
  Status write_slot(int slot, Value value);

  int fd_ = -1;                 // Constant after construction.
  int next_slot_ = 0;           // the slot not holding the newest value
  std::uint64_t unsynced_ = 0;  // advances since the last sync
};

}  // namespace orch::engine
