// SqliteJournalStore's verification: every record after a point checked
// (type, checksum, sequence), damage told from a torn last commit, the torn
// commit dropped whole on repair, and the clean-shutdown mark that lets a
// start verify only what came after it.
#include <sqlite3.h>

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/store/sqlite_journal_store.h"
#include "engine/store/sqlite_statements.h"
#include "observability/log.h"

namespace orch::engine {

namespace {

using sqlite::bind_text;
using sqlite::column_text;
using sqlite::exec;
using sqlite::kCleanThrough;
using sqlite::query_int;
using sqlite::retire_through;
const auto& sqlite_error = sqlite::error;

// A record verification found wrong.
struct Bad {
  sqlite3_int64 offset;
  std::int64_t batch;
  std::string workflow_id;
  std::string message;
};

// What is wrong with record `r`, stored with type `type` and checksum
// `stored`, coming after seq `prev` of its workflow; "" when nothing is.
// Sets r.type when `type` is known.
std::string record_fault(JournalRecord& r, int type, std::uint32_t stored, std::uint64_t prev) {
  auto t = record_type_from_int(type);
  if (!t) return "unknown record type " + std::to_string(type);
  r.type = *t;
  if (r.checksum() != stored) return "checksum mismatch";
  if (r.seq != prev + 1 && !(prev == 0 && r.type == RecordType::entity_snapshot))
    // (an entity's journal may begin at a snapshot: compaction)
    return "seq " + std::to_string(r.seq) + " follows " + std::to_string(prev);
  if ((r.seq == 1) != (r.type == RecordType::workflow_started ||
                       r.type == RecordType::entity_started))
    return "workflow_started (entity_started) must be record 1 and only it";
  return {};
}

// Checks the records after `after_offset`, in offset order, with
// record_fault(); what is wrong goes to *bad, the newest commit seen to
// *last_batch, the records and workflows read to `report`.
// REQUIRES: no other use of `reader` meanwhile (read_mu_ held).
Status check_records(sqlite3* reader, std::int64_t after_offset, VerifyReport* report,
                     std::vector<Bad>* bad, std::int64_t* last_batch) {
  sqlite3_stmt* stmt = nullptr;
  const char* sql =
      "SELECT offset, workflow_id, seq, type, time_ms, payload, checksum, batch FROM journal "
      "WHERE offset > ? ORDER BY offset";
  if (sqlite3_prepare_v2(reader, sql, -1, &stmt, nullptr) != SQLITE_OK)
    return sqlite_error(reader, "prepare verify");
  sqlite3_bind_int64(stmt, 1, after_offset);
  // A workflow's records up to `after_offset` were verified before: its
  // sequence continues from the last of them.
  sqlite3_stmt* seq_before = nullptr;
  if (after_offset > 0 &&
      sqlite3_prepare_v2(reader,
                         "SELECT COALESCE(MAX(seq), 0) FROM journal WHERE workflow_id = ? AND "
                         "offset <= ?",
                         -1, &seq_before, nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return sqlite_error(reader, "prepare verify");
  }
  std::unordered_map<std::string, std::uint64_t> last_seq;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const sqlite3_int64 offset = sqlite3_column_int64(stmt, 0);
    JournalRecord r;
    r.workflow_id = column_text(stmt, 1);
    r.seq = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 2));
    const int type = sqlite3_column_int(stmt, 3);
    r.time_ms = sqlite3_column_int64(stmt, 4);
    r.payload = column_text(stmt, 5);
    const auto stored = static_cast<std::uint32_t>(sqlite3_column_int64(stmt, 6));
    const std::int64_t batch = sqlite3_column_int64(stmt, 7);
    *last_batch = std::max(*last_batch, batch);
    ++report->records;
    auto [seen, first] = last_seq.try_emplace(r.workflow_id, 0);
    if (first && seq_before) {
      bind_text(seq_before, 1, r.workflow_id);
      sqlite3_bind_int64(seq_before, 2, after_offset);
      if (sqlite3_step(seq_before) == SQLITE_ROW)
        seen->second = static_cast<std::uint64_t>(sqlite3_column_int64(seq_before, 0));
      sqlite3_reset(seq_before);
    }
    std::uint64_t& prev = seen->second;
    if (std::string fault = record_fault(r, type, stored, prev); !fault.empty()) {
      bad->push_back({offset, batch, r.workflow_id,
                      "workflow " + r.workflow_id + " at offset " + std::to_string(offset) +
                          ": " + fault});
    }
    prev = r.seq;
  }
  sqlite3_finalize(stmt);
  sqlite3_finalize(seq_before);
  if (rc != SQLITE_DONE) return sqlite_error(reader, "verify");
  report->workflows = last_seq.size();
  return Status::ok();
}

// Bad records before the last commit are damage: the store is corrupt and
// their workflows are quarantined (report->damaged). Bad records in the last
// commit are a torn write, dropped whole, unless records before it are bad
// too: then the storage damages what it holds, the tail is no different, and
// its workflows are quarantined with them.
void classify_damage(const std::vector<Bad>& bad, std::int64_t last_batch, VerifyReport* report) {
  for (const Bad& b : bad) {
    if (b.batch == last_batch) continue;
    if (report->corrupt.empty()) report->corrupt = "journal corrupt: " + b.message;
    report->damaged.emplace(b.workflow_id, "journal corrupt: " + b.message);
  }
  for (const Bad& b : bad) {
    if (b.batch != last_batch) continue;
    ++report->torn_tail;
    if (!report->corrupt.empty())
      report->damaged.emplace(b.workflow_id, "journal corrupt: " + b.message);
  }
}

// Drops the torn commit `last_batch` whole (a commit is atomic: none of it
// can be kept) and marks the workflows it touched unfinished so recovery
// re-derives them. REQUIRES: the writer thread.
Status drop_torn_commit(sqlite3* writer, std::int64_t last_batch, VerifyReport* report) {
  if (Status s = exec(writer, "BEGIN IMMEDIATE"); !s) return s;
  const std::string batch = std::to_string(last_batch);
  const std::string sql =
      "UPDATE workflows SET status='running' WHERE workflow_id IN "
      "(SELECT workflow_id FROM journal WHERE batch=" + batch + ");"
      "DELETE FROM journal WHERE batch=" + batch + ";"
      "DELETE FROM workflows WHERE workflow_id NOT IN (SELECT workflow_id FROM journal);";
  Status dropped = exec(writer, sql.c_str());
  if (dropped) dropped = retire_through(writer, last_batch);  // dropped on purpose
  if (!dropped) {
    exec(writer, "ROLLBACK");
    return dropped;
  }
  if (Status s = exec(writer, "COMMIT"); !s) return s;
  report->dropped = report->torn_tail;
  observability::log(observability::LogLevel::warn, "journal: dropped a torn tail",
                     {{"commit", last_batch}, {"bad_records", report->torn_tail}});
  return Status::ok();
}

}  // namespace

Status SqliteJournalStore::verify(bool repair, VerifyReport* report) {
  return verify_from(0, repair, report);
}

Status SqliteJournalStore::verify_since_clean_shutdown(bool repair, VerifyReport* report) {
  std::int64_t clean = 0;
  {
    std::lock_guard lock(read_mu_);
    clean = query_int(reader_, "SELECT value FROM journal_meta WHERE key = 'clean_through'");
  }
  return verify_from(clean, repair, report);
}

void SqliteJournalStore::mark_clean_shutdown() {
  // Everything up to the newest record was fsynced by a writer that then
  // stopped cleanly: no torn write can hide there.
  const std::string sql =
      std::string("INSERT INTO journal_meta(key, value) VALUES('") + kCleanThrough +
      "', (SELECT COALESCE(MAX(offset), 0) FROM journal)) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value";
  exec(writer_, sql.c_str());
  if (mark_) mark_->sync();
}

Status SqliteJournalStore::verify_from(std::int64_t after_offset, bool repair,
                                       VerifyReport* report) {
  *report = VerifyReport{};
  report->lost = check_.lost;
  report->warnings = check_.warnings;
  report->figures = check_.figures();
  std::vector<Bad> bad;
  std::int64_t last_batch = 0;
  {
    std::lock_guard lock(read_mu_);
    if (Status s = check_records(reader_, after_offset, report, &bad, &last_batch); !s) return s;
  }
  report->commits = static_cast<std::uint64_t>(
      after_offset > 0 ? std::max<std::int64_t>(
                             last_batch, query_int(writer_, "SELECT batch FROM journal ORDER BY "
                                                            "offset DESC LIMIT 1"))
                       : last_batch);
  classify_damage(bad, last_batch, report);
  if (!report->corrupt.empty() || report->torn_tail == 0 || !repair) return Status::ok();
  return drop_torn_commit(writer_, last_batch, report);
}

}  // namespace orch::engine
