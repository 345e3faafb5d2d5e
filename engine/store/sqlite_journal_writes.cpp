// SqliteJournalStore's writes: a group commit's records and summaries in one
// transaction (then the high-water mark raised), and workflows deleted.
#include <sqlite3.h>

#include <algorithm>
#include <string>

#include "engine/store/sqlite_journal_store.h"
#include "engine/store/sqlite_statements.h"
#include "observability/log.h"

namespace orch::engine {

namespace {

using sqlite::bind_text;
using sqlite::exec;
using sqlite::prepare_persistent;
using sqlite::retire_through;
using sqlite::StatementReset;
const auto& sqlite_error = sqlite::error;

}  // namespace

// Why several rows per statement: SQLite as Debian builds it has no lookaside
// memory (SQLITE_OMIT_LOOKASIDE), so every execution of a statement mallocs
// and frees its cursors and record buffers, and ends with a halt that walks
// them all; per row, that was about a third of the journal writer's cost
// (callgrind under the standard benchmark). One INSERT of many VALUES rows
// opens its cursors once and appends the rows in order, as single-row
// INSERTs would: the same offsets, the same unique-index checks.
sqlite3_stmt* SqliteJournalStore::insert_statement(std::size_t rows, Status* error) {
  sqlite3_stmt*& stmt = insert_records_[rows];
  if (stmt) return stmt;
  std::string sql =
      "INSERT INTO journal(workflow_id, seq, type, time_ms, payload, checksum, batch) VALUES";
  for (std::size_t i = 0; i < rows; ++i) sql += i == 0 ? "(?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?)";
  if (Status s = prepare_persistent(writer_, sql.c_str(), &stmt); !s) *error = s;
  return stmt;
}

Status SqliteJournalStore::append(const std::vector<JournalRecord>& records,
                                  const std::vector<WorkflowSummary>& summaries) {
  if (Status s = exec(writer_, "BEGIN IMMEDIATE"); !s) return s;
  auto rollback = [&](Status s) {
    exec(writer_, "ROLLBACK");
    return s;
  };
  sqlite3_int64 newest_offset = 0;
  for (std::size_t first = 0; first < records.size(); first += kRowsPerInsert) {
    const std::size_t rows = std::min(kRowsPerInsert, records.size() - first);
    Status prepared = Status::ok();
    sqlite3_stmt* insert = insert_statement(rows, &prepared);
    if (!insert) return rollback(prepared);
    StatementReset reset{insert};
    for (std::size_t i = 0; i < rows; ++i) {
      const JournalRecord& r = records[first + i];
      const int at = static_cast<int>(i * 7);
      bind_text(insert, at + 1, r.workflow_id);
      sqlite3_bind_int64(insert, at + 2, static_cast<sqlite3_int64>(r.seq));
      sqlite3_bind_int(insert, at + 3, static_cast<int>(r.type));
      sqlite3_bind_int64(insert, at + 4, r.time_ms);
      bind_text(insert, at + 5, r.payload);
      sqlite3_bind_int64(insert, at + 6, static_cast<sqlite3_int64>(r.checksum()));
      sqlite3_bind_int64(insert, at + 7, next_batch_);
    }
    if (sqlite3_step(insert) != SQLITE_DONE) {
      const JournalRecord& r = records[first];
      return rollback(sqlite_error(writer_, "append " + std::to_string(rows) +
                                                " records from " + r.workflow_id + " seq " +
                                                std::to_string(r.seq)));
    }
    newest_offset = sqlite3_last_insert_rowid(writer_);
  }
  if (Status s = apply_entity_records(records); !s) return rollback(s);
  for (const WorkflowSummary& w : summaries) {
    // A row written before needs only its changing columns: a plain UPDATE
    // skips the upsert's attempt to insert the whole row first (building
    // it, then finding the key taken). No row found: upsert it whole.
    if (w.stored) {
      StatementReset reset{update_summary_};
      bind_text(update_summary_, 1, w.workflow_id);
      bind_text(update_summary_, 2, w.status);
      bind_text(update_summary_, 3, w.phase);
      sqlite3_bind_int64(update_summary_, 4, w.updated_ms);
      sqlite3_bind_int64(update_summary_, 5, w.wake_ms);
      if (sqlite3_step(update_summary_) != SQLITE_DONE)
        return rollback(sqlite_error(writer_, "update summary of " + w.workflow_id));
      if (sqlite3_changes(writer_) > 0) continue;
    }
    StatementReset reset{upsert_summary_};
    bind_text(upsert_summary_, 1, w.workflow_id);
    bind_text(upsert_summary_, 2, w.run_id);
    bind_text(upsert_summary_, 3, w.definition);
    bind_text(upsert_summary_, 4, w.status);
    bind_text(upsert_summary_, 5, w.phase);
    sqlite3_bind_int64(upsert_summary_, 6, w.created_ms);
    sqlite3_bind_int64(upsert_summary_, 7, w.updated_ms);
    if (w.idempotency_key.empty())
      sqlite3_bind_null(upsert_summary_, 8);
    else
      bind_text(upsert_summary_, 8, w.idempotency_key);
    bind_text(upsert_summary_, 9, w.input_hash);
    sqlite3_bind_int64(upsert_summary_, 10, w.wake_ms);
    if (sqlite3_step(upsert_summary_) != SQLITE_DONE)
      return rollback(sqlite_error(writer_, "upsert summary of " + w.workflow_id));
  }
  if (Status s = exec(writer_, "COMMIT"); !s) return rollback(s);
  // Durable now (COMMIT fsynced the log): the mark may say so.
  if (mark_ && !records.empty()) advance_mark(newest_offset);
  ++next_batch_;
  return Status::ok();
}

// A mark that cannot be written only detects less; the commit stands.
void SqliteJournalStore::advance_mark(std::int64_t newest_offset) {
  const Status marked = mark_->advance({static_cast<std::uint64_t>(next_batch_), newest_offset});
  if (!marked && !mark_failing_)
    observability::log(observability::LogLevel::warn,
                       "journal: cannot write the high-water mark; losses after this commit "
                       "may go undetected",
                       {{"error", marked.message()}, {"commit", next_batch_}});
  mark_failing_ = !marked;
}

Status SqliteJournalStore::delete_workflows(const std::vector<std::string>& workflow_ids) {
  if (workflow_ids.empty()) return Status::ok();
  if (Status s = exec(writer_, "BEGIN IMMEDIATE"); !s) return s;
  for (const char* sql : {"DELETE FROM journal WHERE workflow_id=?",
                          "DELETE FROM workflows WHERE workflow_id=?"}) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(writer_, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      exec(writer_, "ROLLBACK");
      return sqlite_error(writer_, "prepare delete");
    }
    for (const std::string& id : workflow_ids) {
      bind_text(stmt, 1, id);
      const int rc = sqlite3_step(stmt);
      sqlite3_reset(stmt);
      if (rc != SQLITE_DONE) {
        sqlite3_finalize(stmt);
        exec(writer_, "ROLLBACK");
        return sqlite_error(writer_, "delete " + id);
      }
    }
    sqlite3_finalize(stmt);
  }
  // New records take offsets after the highest left; keep them above the
  // clean mark so a start still verifies them. The commits deleted may have
  // been the newest: the store still accounts for them (high-water mark).
  Status s = exec(writer_,
                  "UPDATE journal_meta SET value = MIN(value, (SELECT COALESCE(MAX(offset), 0) "
                  "FROM journal)) WHERE key = 'clean_through'");
  if (s) s = retire_through(writer_, next_batch_ - 1);
  if (!s) {
    exec(writer_, "ROLLBACK");
    return s;
  }
  return exec(writer_, "COMMIT");
}

}  // namespace orch::engine
