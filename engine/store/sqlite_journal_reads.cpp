// SqliteJournalStore's reads on the reader connection (serialised by
// read_mu_): a workflow's records, whole or a page at a time, the unfinished
// workflows' records for recovery, and the summaries.
#include <sqlite3.h>

#include <string>

#include "engine/store/sqlite_journal_store.h"
#include "engine/store/sqlite_statements.h"

namespace orch::engine {

namespace {

using sqlite::bind_text;
using sqlite::column_text;
using sqlite::decode_record;
using sqlite::StatementReset;
const auto& sqlite_error = sqlite::error;

}  // namespace

Status SqliteJournalStore::read_records(sqlite3_stmt* stmt,
                                        const std::function<bool(JournalRecord&&)>& emit) {
  for (;;) {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) return Status::ok();
    if (rc != SQLITE_ROW) return sqlite_error(reader_, "read journal");
    JournalRecord r;
    if (Status s = decode_record(stmt, &r); !s) return s;
    if (!emit(std::move(r))) return Status::ok();
  }
}

Status SqliteJournalStore::load_workflow(const std::string& workflow_id,
                                         std::vector<JournalRecord>* out) {
  std::lock_guard lock(read_mu_);
  StatementReset reset{select_workflow_};
  bind_text(select_workflow_, 1, workflow_id);
  return read_records(select_workflow_, [&](JournalRecord&& r) {
    out->push_back(std::move(r));
    return true;
  });
}

Status SqliteJournalStore::load_workflow_page(const std::string& workflow_id,
                                              std::uint64_t from_seq, std::size_t max_records,
                                              std::size_t max_bytes, WorkflowPage* page) {
  std::lock_guard lock(read_mu_);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(reader_,
                         "SELECT offset, workflow_id, seq, type, time_ms, payload, checksum "
                         "FROM journal WHERE workflow_id=?1 AND seq>=?2 ORDER BY seq LIMIT ?3",
                         -1, &stmt, nullptr) != SQLITE_OK)
    return sqlite_error(reader_, "prepare load_workflow_page");
  bind_text(stmt, 1, workflow_id);
  sqlite3_bind_int64(stmt, 2, static_cast<sqlite3_int64>(from_seq));
  sqlite3_bind_int64(stmt, 3, static_cast<sqlite3_int64>(max_records) + 1);
  std::size_t bytes = 0;
  Status s = read_records(stmt, [&](JournalRecord&& r) {
    const bool full = page->records.size() == max_records ||
                      (!page->records.empty() && bytes + r.payload.size() > max_bytes);
    if (full) {
      page->more = true;
      page->byte_limited = page->records.size() < max_records;
      return false;
    }
    bytes += r.payload.size();
    page->records.push_back(std::move(r));
    return true;
  });
  sqlite3_finalize(stmt);
  if (!s) return s;
  // The workflow's record count: its seqs are dense from 1.
  if (sqlite3_prepare_v2(reader_, "SELECT coalesce(max(seq), 0) FROM journal WHERE workflow_id=?",
                         -1, &stmt, nullptr) != SQLITE_OK)
    return sqlite_error(reader_, "prepare load_workflow_page");
  bind_text(stmt, 1, workflow_id);
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) page->last_seq = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0));
  sqlite3_finalize(stmt);
  return rc == SQLITE_ROW ? Status::ok() : sqlite_error(reader_, "count records");
}

Status SqliteJournalStore::load_unfinished(
    const std::function<void(std::vector<JournalRecord>&&)>& visit,
    const std::vector<std::string>& lazy_statuses, const DamageVisitor& damaged) {
  std::lock_guard lock(read_mu_);
  sqlite3_stmt* stmt = nullptr;
  // CROSS JOIN keeps workflows the outer loop: the journal is read through
  // its (workflow_id, seq) index for the workflows wanted only, never scanned.
  std::string sql =
      "SELECT j.offset, j.workflow_id, j.seq, j.type, j.time_ms, j.payload, j.checksum "
      "FROM workflows w CROSS JOIN journal j ON j.workflow_id = w.workflow_id "
      "WHERE w.status NOT IN ('completed','failed','cancelled') ";
  if (!lazy_statuses.empty()) {
    sql += "AND NOT (w.wake_ms >= 0 AND w.status IN (";
    for (std::size_t i = 0; i < lazy_statuses.size(); ++i) sql += i ? ",?" : "?";
    sql += ")) ";
  }
  sql += "ORDER BY w.workflow_id, j.seq";
  if (sqlite3_prepare_v2(reader_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
    return sqlite_error(reader_, "prepare load_unfinished");
  for (std::size_t i = 0; i < lazy_statuses.size(); ++i)
    bind_text(stmt, static_cast<int>(i) + 1, lazy_statuses[i]);
  std::vector<JournalRecord> current;
  std::string skipping;  // a damaged workflow: the rest of its records
  Status s;
  for (;;) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      s = sqlite_error(reader_, "read journal");
      break;
    }
    JournalRecord r;
    Status decoded = decode_record(stmt, &r);
    if (!skipping.empty() && r.workflow_id == skipping) continue;
    skipping.clear();
    if (!current.empty() && current.front().workflow_id != r.workflow_id) {
      visit(std::move(current));
      current.clear();
    }
    if (!decoded) {
      if (!damaged) {
        s = decoded;
        break;
      }
      damaged(r.workflow_id, decoded);
      skipping = r.workflow_id;
      continue;
    }
    current.push_back(std::move(r));
  }
  sqlite3_finalize(stmt);
  if (s && !current.empty()) visit(std::move(current));
  return s;
}

Status SqliteJournalStore::load_summaries(std::vector<WorkflowSummary>* out) {
  std::lock_guard lock(read_mu_);
  sqlite3_stmt* stmt = nullptr;
  const char* sql =
      "SELECT workflow_id, run_id, definition, status, phase, created_ms, updated_ms, "
      "idempotency_key, input_hash, wake_ms FROM workflows ORDER BY created_ms, rowid";
  if (sqlite3_prepare_v2(reader_, sql, -1, &stmt, nullptr) != SQLITE_OK)
    return sqlite_error(reader_, "prepare load_summaries");
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    WorkflowSummary w;
    w.workflow_id = column_text(stmt, 0);
    w.run_id = column_text(stmt, 1);
    w.definition = column_text(stmt, 2);
    w.status = column_text(stmt, 3);
    w.phase = column_text(stmt, 4);
    w.created_ms = sqlite3_column_int64(stmt, 5);
    w.updated_ms = sqlite3_column_int64(stmt, 6);
    w.idempotency_key = column_text(stmt, 7);
    w.input_hash = column_text(stmt, 8);
    w.wake_ms = sqlite3_column_int64(stmt, 9);
    out->push_back(std::move(w));
  }
  sqlite3_finalize(stmt);
  return rc == SQLITE_DONE ? Status::ok() : sqlite_error(reader_, "load_summaries");
}

}  // namespace orch::engine
