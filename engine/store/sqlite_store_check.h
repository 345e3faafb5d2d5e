// Whether a SQLite journal store lost committed data: its files read before
// SQLite opens them (SQLite repairs silently: it drops a log's frames after a
// bad one, and deletes the log beside an empty database), then what SQLite
// reads, measured against the high-water mark (journal_high_water.h).
//
// Detected (each adds a line to `lost`):
// - the store holds an older commit than the mark: SQLite dropped or never
//   saw committed frames (a log damaged in the middle or cut short, a
//   database truncated, emptied, deleted or replaced by an older copy);
// - the log has a bad frame followed by commits proven durable
//   (sqlite_wal_scan.h), even without a mark;
// - the database file is empty or missing while its log holds commits;
// - the database file is shorter than the database the log or its header
//   describes, and the log does not hold the pages it lacks.
// Not detected: damage inside pages SQLite still reads without complaint
// (records carry their own checksums: JournalStore::verify), a loss
// confined to commits after the mark's last durable write (see its
// header), and any loss when the mark file was lost with the data.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "engine/store/journal_high_water.h"
#include "engine/store/sqlite_wal_scan.h"
#include "engine/common/status.h"

namespace orch::engine {

// The database file's first 100 bytes, as SQLite's file format describes them.
struct DatabaseFileScan {
  bool present = false;
  std::uint64_t bytes = 0;
  std::uint32_t page_size = 0;     // 0: no valid header
  std::uint32_t header_pages = 0;  // the in-header database size; 0: not valid
};

struct StoreCheck {
  std::string db_path;
  DatabaseFileScan database;
  WalScan wal;
  HighWaterMark::Reading mark;
  // What SQLite gave back: the newest commit the store holds or accounts for
  // (set by compare_with_store).
  bool compared = false;
  HighWaterMark::Value store;
  std::uint64_t pages_expected = 0;  // 0: unknown
  std::uint64_t pages_in_file = 0;
  std::uint64_t pages_missing = 0;    // in neither the file nor the replayed log
  std::vector<std::string> lost;      // why committed data is missing; empty: nothing is
  std::vector<std::string> warnings;  // what SQLite drops that was never committed, etc.

  bool data_lost() const { return !lost.empty(); }
  // False when SQLite, opening the database, would delete its log: the
  // database file is missing or empty.
  bool database_openable() const { return database.present && database.bytes > 0; }
  // Name and value of each figure (-1: unknown), for reports and logs.
  std::vector<std::pair<std::string, std::int64_t>> figures() const;
  nlohmann::json log_fields() const;
};

// Reads the database header, the log and the mark of the store at `db_path`;
// creates and changes nothing. An error only when a file cannot be read.
Status check_store_files(const std::string& db_path, StoreCheck* out);

// Adds what SQLite gave back, `store`, and compares it with the mark.
// REQUIRES: called once, after check_store_files.
void compare_with_store(HighWaterMark::Value store, StoreCheck* check);

}  // namespace orch::engine
