// A SQLite VFS that gathers a write-ahead log's writes into one write.
//
// SQLite writes each WAL frame as two writes, its 24-byte header and then
// its page: a group commit of ~30 frames is ~60 pwrite64 calls, then the
// fsync. Under the benchmark that was 20 system calls per campaign on the
// journal writer (perf stat), most of its kernel time. SQLite has no option
// to batch them, so this shim, registered beside the default ("unix") VFS
// and delegating everything to it, keeps the writes to a file opened as a
// WAL in memory while they run on from one another and hands them to the
// real file as one write before anything that needs them there: a sync, a
// read, a truncate, a size, a file control, a lock change, closing, or a
// write elsewhere in the file. Durability is SQLite's own: nothing it
// counts on reaching the disk is reported synced before it was written and
// fsynced, and what a crash loses is only what was not yet synced, which
// SQLite's WAL recovery already ignores (its frames carry checksums and the
// commit frame comes last).
#pragma once

#include <cstdint>

namespace orch::engine {

// The VFS's name for sqlite3_open_v2; it is registered on the first call
// (not as the default). Thread-safe.
const char* wal_buffer_vfs();

// Writes handed to the VFS for WAL files and writes it made to them.
struct WalBufferCounts {
  std::uint64_t writes_in = 0;
  std::uint64_t writes_out = 0;
};
WalBufferCounts wal_buffer_counts();

}  // namespace orch::engine
