// Small helpers over SQLite's C API shared by the store's translation units:
// errors as Status values, binding and reading columns, a statement reset on
// every exit path, and the decoding of a journal row. Internal to the SQLite
// store (engine/store/sqlite_*.cpp).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "engine/journal/journal_record.h"
#include "engine/common/status.h"

namespace orch::engine::sqlite {

Status error(sqlite3* db, const std::string& what);
// Runs `sql` (one or more statements, no rows wanted).
Status exec(sqlite3* db, const char* sql);
// A statement kept for the store's lifetime; *out is null on error.
Status prepare_persistent(sqlite3* db, const char* sql, sqlite3_stmt** out);
// Binds `v` without a copy: it must outlive the statement's next step.
void bind_text(sqlite3_stmt* s, int i, const std::string& v);
std::string column_text(sqlite3_stmt* s, int i);
// The first column of the first row of `sql`, or 0.
std::int64_t query_int(sqlite3* db, const char* sql);

// The highest commit whose records may be gone on purpose: deleted by
// retention or compaction, dropped as a torn tail, or lost and accepted by
// the operator. With the newest record's commit, what the store accounts for
// against its high-water mark.
inline constexpr const char* kRetiredThrough = "retired_through";
// Raises retired_through to `commit`. REQUIRES: inside a write transaction.
Status retire_through(sqlite3* db, std::int64_t commit);

// The journal_meta key of the newest offset a cleanly stopped writer had
// fsynced (mark_clean_shutdown): a start verifies only the records after it.
inline constexpr const char* kCleanThrough = "clean_through";

// Resets a statement on every exit path.
struct StatementReset {
  sqlite3_stmt* stmt;
  ~StatementReset() {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
  }
};

// A statement prepared for one use, finalized on every exit path.
struct Statement {
  sqlite3_stmt* stmt = nullptr;
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt); }
};
Status prepare(sqlite3* db, const char* sql, Statement* out);

// Runs `body` (returning Status) in one write transaction: all or nothing.
// Inside a transaction already (JournalStore::in_one_transaction), `body`
// joins it: the outer one commits or rolls back everything.
template <typename Body>
Status in_transaction(sqlite3* db, Body body) {
  if (!sqlite3_get_autocommit(db)) return body();
  if (Status s = exec(db, "BEGIN IMMEDIATE"); !s) return s;
  Status s = body();
  if (s) s = exec(db, "COMMIT");
  if (!s) exec(db, "ROLLBACK");
  return s;
}

// The row (offset, workflow_id, seq, type, time_ms, payload, checksum) of
// `stmt` as a record; corruption when its type or checksum is wrong (the
// record's workflow id is set even then).
Status decode_record(sqlite3_stmt* stmt, JournalRecord* r);

}  // namespace orch::engine::sqlite
