#include "engine/store/sqlite_journal_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <unordered_map>

#include "engine/store/sqlite_statements.h"
#include "engine/store/sqlite_wal_buffer.h"
#include "observability/log.h"

namespace orch::engine {

namespace {

using sqlite::bind_text;
using sqlite::column_text;
using sqlite::decode_record;
using sqlite::exec;
using sqlite::kRetiredThrough;
using sqlite::prepare_persistent;
using sqlite::query_int;
using sqlite::retire_through;
using sqlite::StatementReset;
const auto& sqlite_error = sqlite::error;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS journal (
  offset      INTEGER PRIMARY KEY,
  workflow_id TEXT    NOT NULL,
  seq         INTEGER NOT NULL,
  type        INTEGER NOT NULL,
  time_ms     INTEGER NOT NULL,
  payload     TEXT    NOT NULL,
  checksum    INTEGER NOT NULL,
  batch       INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS journal_by_workflow ON journal(workflow_id, seq);
CREATE TABLE IF NOT EXISTS workflows (
  workflow_id     TEXT PRIMARY KEY,
  run_id          TEXT NOT NULL,
  definition      TEXT NOT NULL,
  status          TEXT NOT NULL,
  phase           TEXT NOT NULL,
  created_ms      INTEGER NOT NULL,
  updated_ms      INTEGER NOT NULL,
  idempotency_key TEXT,
  input_hash      TEXT NOT NULL,
  wake_ms         INTEGER NOT NULL DEFAULT -1
);
-- No index on status: no query looks a workflow up by it (recovery scans
-- the summaries in workflow_id order), and keeping one cost every status
-- change an index delete and insert. Stores made before drop theirs.
DROP INDEX IF EXISTS workflows_by_status;
CREATE TABLE IF NOT EXISTS journal_meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
-- Entities (engine/entity/) by kind, for listing; their records are in
-- the journal under "kind:key".
CREATE TABLE IF NOT EXISTS entities (
  entity_id  TEXT PRIMARY KEY,
  kind       TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entities_by_kind ON entities(kind, entity_id);
CREATE TABLE IF NOT EXISTS drafts (
  draft_id   TEXT PRIMARY KEY,
  body       TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
)sql";







constexpr const char* kCleanThrough = "clean_through";

// The newest commit the store holds or accounts for: the newest record's
// batch and offset (batches grow with offsets, so a lookup by rowid), raised
// to retired_through. Zero for a new store (no tables yet).
Status read_newest_commit(sqlite3* db, HighWaterMark::Value* out) {
  *out = {};
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT count(*) FROM sqlite_master WHERE type='table' AND "
                         "name IN ('journal', 'journal_meta')",
                         -1, &stmt, nullptr) != SQLITE_OK)
    return sqlite_error(db, "read schema");
  int rc = sqlite3_step(stmt);
  const int tables = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return sqlite_error(db, "read schema");
  if (tables < 2) return Status::ok();
  if (sqlite3_prepare_v2(db, "SELECT batch, offset FROM journal ORDER BY offset DESC LIMIT 1", -1,
                         &stmt, nullptr) != SQLITE_OK)
    return sqlite_error(db, "read newest record");
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    out->commit = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0));
    out->offset = sqlite3_column_int64(stmt, 1);
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_error(db, "read newest record");
  const std::string retired =
      std::string("SELECT value FROM journal_meta WHERE key = '") + kRetiredThrough + "'";
  if (sqlite3_prepare_v2(db, retired.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
    return sqlite_error(db, "read journal_meta");
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW)
    out->commit = std::max(out->commit, static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0)));
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_error(db, "read journal_meta");
  return Status::ok();
}



// SQLite's own error log: WAL recovery after a crash (including a torn WAL
// tail, which SQLite drops by its frame checksums) and corruption notices
// become warnings in our structured log.
void sqlite_log(void*, int code, const char* message) {
  const int primary = code & 0xFF;
  if (primary != SQLITE_NOTICE && primary != SQLITE_WARNING && primary != SQLITE_CORRUPT &&
      primary != SQLITE_IOERR && primary != SQLITE_CANTOPEN)
    return;
  observability::log(observability::LogLevel::warn, "sqlite journal notice",
                     {{"sqlite_code", code}, {"detail", message ? message : ""}});
}

// Process-wide settings, which SQLite takes only before its first use.
// Memory statistics off: with them on (Debian's default), every allocation
// and free inside SQLite takes a global mutex and asks glibc for the block's
// size, about 450 times per campaign on the journal writer; nothing here
// reads sqlite3_memory_used().
void configure_sqlite() {
  static std::once_flag once;
  std::call_once(once, [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_config(SQLITE_CONFIG_LOG, sqlite_log, nullptr);
  });
}

}  // namespace

std::unique_ptr<SqliteJournalStore> SqliteJournalStore::open(const std::string& path,
                                                             std::string* error,
                                                             const StoreOptions& options) {
  configure_sqlite();
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  StoreCheck check;
  if (Status s = check_store_files(path, &check); !s) {
    *error = "cannot check journal " + path + ": " + s.message();
    return nullptr;
  }
  return open_checked(path, std::move(check), options, Mode::serve, error);
}

Status SqliteJournalStore::verify_unchanged(const std::string& path, VerifyReport* report) {
  configure_sqlite();
  *report = VerifyReport{};
  StoreCheck check;
  if (Status s = check_store_files(path, &check); !s) return s;
  if (!check.database.present && !check.wal.present &&
      check.mark.state == HighWaterMark::State::absent)
    return Status::error("no journal at " + path);
  if (!check.database_openable()) {
    // SQLite would delete the log: nothing to read, only what is missing.
    compare_with_store({}, &check);
    report->lost = check.lost;
    report->warnings = check.warnings;
    report->figures = check.figures();
    return Status::ok();
  }
  StoreCheck files = check;
  std::string error;
  auto store = open_checked(path, std::move(check), {}, Mode::inspect, &error);
  if (store) return store->verify(/*repair=*/false, report);
  if (!files.data_lost()) return Status::error(error);
  // Unreadable, and the files show why: report that.
  files.lost.push_back(error);
  report->lost = files.lost;
  report->warnings = files.warnings;
  report->figures = files.figures();
  return Status::ok();
}

std::unique_ptr<SqliteJournalStore> SqliteJournalStore::open_checked(const std::string& path,
                                                                     StoreCheck check,
                                                                     const StoreOptions& options,
                                                                     Mode mode,
                                                                     std::string* error) {
  const bool inspect = mode == Mode::inspect;
  const bool refuse = !inspect && options.on_loss == OnJournalLoss::refuse;
  auto refused = [&](const StoreCheck& c) {
    observability::log(observability::LogLevel::error,
                       "journal: committed data is missing; the store was not opened",
                       c.log_fields());
    std::string reasons;
    for (const std::string& line : c.lost) reasons += (reasons.empty() ? "" : "; ") + line;
    *error = std::string(kJournalLossError) + ": " + reasons + " (" + path +
             "; nothing on disk was changed)";
    return nullptr;
  };
  // SQLite would delete the log beside a missing or empty database as it
  // opened it: such a store is judged by its files alone, before SQLite.
  if (!check.database_openable()) {
    compare_with_store({}, &check);
    if (refuse && check.data_lost()) return refused(check);
  }
  std::unique_ptr<SqliteJournalStore> store(new SqliteJournalStore());
  store->path_ = path;
  // The writer's log goes through the WAL-buffering VFS (one write per
  // commit instead of two per page; sqlite_wal_buffer.h).
  const int flags = inspect ? SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
                            : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &store->writer_, flags, inspect ? nullptr : wal_buffer_vfs()) !=
      SQLITE_OK) {
    *error = "cannot open journal " + path + ": " + sqlite3_errmsg(store->writer_);
    return nullptr;
  }
  // No checkpoint at close until the store is known whole: a refused store
  // keeps its log as found.
  sqlite3_db_config(store->writer_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  sqlite3_busy_timeout(store->writer_, 5000);
  HighWaterMark::Value held;
  if (check.database_openable()) {
    // Reading recovers the log into the shared-memory index only; nothing
    // is written to the database or the log yet.
    if (Status s = read_newest_commit(store->writer_, &held); !s) {
      if (refuse && check.data_lost()) {
        check.lost.push_back("SQLite cannot read the store: " + s.message());
        return refused(check);
      }
      *error = "cannot read journal " + path + ": " + s.message();
      return nullptr;
    }
    compare_with_store(held, &check);
    if (refuse && check.data_lost()) return refused(check);
  }
  store->check_ = std::move(check);
  store->next_batch_ = static_cast<std::int64_t>(held.commit) + 1;
  if (!inspect) sqlite3_db_config(store->writer_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, nullptr);
  if (Status s = inspect ? store->open_to_inspect() : store->open_for_writing(options); !s) {
    *error = s.message();
    return nullptr;
  }
  return store;
}

Status SqliteJournalStore::open_to_inspect() {
  for (sqlite3** db : {&reader_, &drafts_}) {
    if (sqlite3_open_v2(path_.c_str(), db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) !=
        SQLITE_OK)
      return Status::error("cannot open journal " + path_ + ": " + sqlite3_errmsg(*db));
    sqlite3_db_config(*db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    sqlite3_busy_timeout(*db, 5000);
  }
  return prepare();
}

Status SqliteJournalStore::open_for_writing(const StoreOptions& options) {
  const std::string& path = path_;
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=FULL;",
        "PRAGMA foreign_keys=OFF;", "PRAGMA wal_autocheckpoint=10000;"}) {
    if (Status s = exec(writer_, pragma); !s)
      return Status::error("cannot configure journal " + path + ": " + s.message());
  }
  if (Status s = exec(writer_, kSchema); !s)
    return Status::error("cannot create journal schema in " + path + ": " + s.message());
  // Journals written before summaries kept wake_ms: their rows read as -1
  // (unknown), so a restart loads those workflows as it always did.
  if (query_int(writer_,
                "SELECT count(*) FROM pragma_table_info('workflows') WHERE name='wake_ms'") == 0) {
    if (Status s = exec(writer_,
                        "ALTER TABLE workflows ADD COLUMN wake_ms INTEGER NOT NULL DEFAULT -1;");
        !s)
      return Status::error("cannot upgrade journal schema in " + path + ": " + s.message());
  }
  if (sqlite3_open_v2(path.c_str(), &reader_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    return Status::error("cannot open journal reader " + path + ": " + sqlite3_errmsg(reader_));
  sqlite3_busy_timeout(reader_, 5000);
  if (sqlite3_open_v2(path.c_str(), &drafts_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    return Status::error("cannot open journal drafts " + path + ": " + sqlite3_errmsg(drafts_));
  sqlite3_busy_timeout(drafts_, 5000);
  exec(drafts_, "PRAGMA synchronous=FULL;");
  if (check_.data_lost()) {
    if (Status s = accept_loss(); !s) return s;
  } else if (!check_.warnings.empty()) {
    observability::log(observability::LogLevel::warn, "journal: store check", check_.log_fields());
  }
  if (options.wal_checkpoint_pages > 0) {
    std::string error;
    checkpointer_ = WalCheckpointer::start(path, options.wal_checkpoint_pages, &error);
    if (!checkpointer_) return Status::error(error);
    checkpointer_->watch(writer_);
    checkpointer_->watch(drafts_);
  }
  if (Status s = prepare(); !s) return s;
  // A mark is only ever raised by a commit (append), after that commit's
  // fsync; a new one starts at zero.
  Status s;
  mark_ = HighWaterMark::open(HighWaterMark::path_for(path), check_.mark, {}, &s);
  return s;
}

Status SqliteJournalStore::accept_loss() {
  observability::log(observability::LogLevel::error,
                     "journal: committed data is missing; continuing with what is left, as the "
                     "operator accepted",
                     check_.log_fields());
  // The missing commits count as retired, so the store accounts for the mark
  // (and later commits are numbered past it); records written from here on
  // are above the clean-shutdown mark, so a start verifies them.
  const std::uint64_t through = std::max(check_.store.commit, check_.mark.value.commit);
  const std::string lower_clean = std::string(
                                      "UPDATE journal_meta SET value = MIN(value, (SELECT "
                                      "COALESCE(MAX(offset), 0) FROM journal)) WHERE key = '") +
                                  kCleanThrough + "'";
  if (Status s = exec(writer_, "BEGIN IMMEDIATE"); !s) return s;
  Status s = retire_through(writer_, static_cast<std::int64_t>(through));
  if (s) s = exec(writer_, lower_clean.c_str());
  if (s) s = exec(writer_, "COMMIT");
  if (!s) {
    exec(writer_, "ROLLBACK");
    return s;
  }
  // The log's dropped frames go with it, so no later open finds them again.
  if (Status s = exec(writer_, "PRAGMA wal_checkpoint(TRUNCATE);"); !s) return s;
  next_batch_ = static_cast<std::int64_t>(through) + 1;
  for (const std::string& line : check_.lost) check_.warnings.push_back("accepted: " + line);
  check_.lost.clear();
  return Status::ok();
}

Status SqliteJournalStore::prepare() {
  if (Status s = prepare_persistent(
          writer_,
          "INSERT INTO workflows(workflow_id, run_id, definition, status, phase, "
          "created_ms, updated_ms, idempotency_key, input_hash, wake_ms) "
          "VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(workflow_id) DO UPDATE SET "
          "status=excluded.status, phase=excluded.phase, "
          "updated_ms=excluded.updated_ms, wake_ms=excluded.wake_ms",
          &upsert_summary_);
      !s)
    return s;
  if (Status s =
          prepare_persistent(writer_,
                             "UPDATE workflows SET status=?2, phase=?3, updated_ms=?4, wake_ms=?5 "
                             "WHERE workflow_id=?1",
                             &update_summary_);
      !s)
    return s;
  return prepare_persistent(
      reader_,
      "SELECT offset, workflow_id, seq, type, time_ms, payload, checksum FROM journal "
      "WHERE workflow_id=? ORDER BY seq",
      &select_workflow_);
}

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

SqliteJournalStore::~SqliteJournalStore() {
  for (sqlite3_stmt* stmt : insert_records_) sqlite3_finalize(stmt);
  sqlite3_finalize(upsert_summary_);
  sqlite3_finalize(update_summary_);
  sqlite3_finalize(select_workflow_);
  if (reader_) sqlite3_close(reader_);
  if (drafts_) sqlite3_close(drafts_);
  if (writer_) sqlite3_close(writer_);
  checkpointer_.reset();
  if (mark_) mark_->sync();
}

WalCheckpointer::Stats SqliteJournalStore::checkpoint_stats() const {
  return checkpointer_ ? checkpointer_->stats() : WalCheckpointer::Stats{};
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
  // Durable now (COMMIT fsynced the log): the mark may say so. A mark that
  // cannot be written only detects less; the commit stands.
  if (mark_ && !records.empty()) {
    const Status marked = mark_->advance({static_cast<std::uint64_t>(next_batch_), newest_offset});
    if (!marked && !mark_failing_)
      observability::log(observability::LogLevel::warn,
                         "journal: cannot write the high-water mark; losses after this commit "
                         "may go undetected",
                         {{"error", marked.message()}, {"commit", next_batch_}});
    mark_failing_ = !marked;
  }
  ++next_batch_;
  return Status::ok();
}


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

Status SqliteJournalStore::put_draft(const std::string& id, const std::string& body, TimeMs at) {
  std::lock_guard lock(draft_mu_);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(drafts_, "INSERT INTO drafts(draft_id, body, created_ms) VALUES(?,?,?)",
                         -1, &stmt, nullptr) != SQLITE_OK)
    return sqlite_error(drafts_, "prepare put_draft");
  bind_text(stmt, 1, id);
  bind_text(stmt, 2, body);
  sqlite3_bind_int64(stmt, 3, at);
  const int rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  return rc == SQLITE_DONE ? Status::ok() : sqlite_error(drafts_, "put_draft " + id);
}

Status SqliteJournalStore::get_draft(const std::string& id, std::string* body, bool* found) {
  std::lock_guard lock(draft_mu_);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(drafts_, "SELECT body FROM drafts WHERE draft_id=?", -1, &stmt,
                         nullptr) != SQLITE_OK)
    return sqlite_error(drafts_, "prepare get_draft");
  bind_text(stmt, 1, id);
  const int rc = sqlite3_step(stmt);
  *found = rc == SQLITE_ROW;
  if (*found) *body = column_text(stmt, 0);
  sqlite3_finalize(stmt);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? Status::ok() : sqlite_error(drafts_, "get_draft");
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
  struct Bad {
    sqlite3_int64 offset;
    std::int64_t batch;
    std::string workflow_id;
    std::string message;
  };
  std::vector<Bad> bad;
  std::int64_t last_batch = 0;
  {
    std::lock_guard lock(read_mu_);
    sqlite3_stmt* stmt = nullptr;
    const char* sql =
        "SELECT offset, workflow_id, seq, type, time_ms, payload, checksum, batch FROM journal "
        "WHERE offset > ? ORDER BY offset";
    if (sqlite3_prepare_v2(reader_, sql, -1, &stmt, nullptr) != SQLITE_OK)
      return sqlite_error(reader_, "prepare verify");
    sqlite3_bind_int64(stmt, 1, after_offset);
    // A workflow's records up to `after_offset` were verified before: its
    // sequence continues from the last of them.
    sqlite3_stmt* seq_before = nullptr;
    if (after_offset > 0 &&
        sqlite3_prepare_v2(reader_,
                           "SELECT COALESCE(MAX(seq), 0) FROM journal WHERE workflow_id = ? AND "
                           "offset <= ?",
                           -1, &seq_before, nullptr) != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return sqlite_error(reader_, "prepare verify");
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
      last_batch = std::max(last_batch, batch);
      ++report->records;
      auto prefix = "workflow " + r.workflow_id + " at offset " + std::to_string(offset) + ": ";
      auto t = record_type_from_int(type);
      auto [seen, first] = last_seq.try_emplace(r.workflow_id, 0);
      if (first && seq_before) {
        bind_text(seq_before, 1, r.workflow_id);
        sqlite3_bind_int64(seq_before, 2, after_offset);
        if (sqlite3_step(seq_before) == SQLITE_ROW)
          seen->second = static_cast<std::uint64_t>(sqlite3_column_int64(seq_before, 0));
        sqlite3_reset(seq_before);
      }
      std::uint64_t& prev = seen->second;
      if (!t) {
        bad.push_back(
            {offset, batch, r.workflow_id, prefix + "unknown record type " + std::to_string(type)});
      } else {
        r.type = *t;
        if (r.checksum() != stored)
          bad.push_back({offset, batch, r.workflow_id, prefix + "checksum mismatch"});
        else if (r.seq != prev + 1 && !(prev == 0 && r.type == RecordType::entity_snapshot))
          // (an entity's journal may begin at a snapshot: compaction)
          bad.push_back({offset, batch, r.workflow_id,
                         prefix + "seq " + std::to_string(r.seq) + " follows " +
                             std::to_string(prev)});
        else if ((r.seq == 1) != (r.type == RecordType::workflow_started ||
                                  r.type == RecordType::entity_started))
          bad.push_back({offset, batch, r.workflow_id,
                         prefix + "workflow_started (entity_started) must be record 1 and only it"});
      }
      prev = r.seq;
    }
    sqlite3_finalize(stmt);
    sqlite3_finalize(seq_before);
    if (rc != SQLITE_DONE) return sqlite_error(reader_, "verify");
    report->workflows = last_seq.size();
  }
  report->commits = static_cast<std::uint64_t>(
      after_offset > 0 ? std::max<std::int64_t>(
                             last_batch, query_int(writer_, "SELECT batch FROM journal ORDER BY "
                                                            "offset DESC LIMIT 1"))
                       : last_batch);
  for (const Bad& b : bad) {
    if (b.batch == last_batch) continue;
    if (report->corrupt.empty()) report->corrupt = "journal corrupt: " + b.message;
    report->damaged.emplace(b.workflow_id, "journal corrupt: " + b.message);
  }
  // Bad records in the last commit are a torn write, dropped whole, unless
  // records before it are bad too: then the storage damages what it holds,
  // the tail is no different, and its workflows are quarantined with them.
  for (const Bad& b : bad) {
    if (b.batch != last_batch) continue;
    ++report->torn_tail;
    if (!report->corrupt.empty()) report->damaged.emplace(b.workflow_id, "journal corrupt: " + b.message);
  }
  if (!report->corrupt.empty() || report->torn_tail == 0 || !repair) return Status::ok();

  // Drop the torn commit whole (a commit is atomic: none of it can be kept)
  // and mark the workflows it touched unfinished so recovery re-derives them.
  if (Status s = exec(writer_, "BEGIN IMMEDIATE"); !s) return s;
  const std::string batch = std::to_string(last_batch);
  const std::string sql =
      "UPDATE workflows SET status='running' WHERE workflow_id IN "
      "(SELECT workflow_id FROM journal WHERE batch=" + batch + ");"
      "DELETE FROM journal WHERE batch=" + batch + ";"
      "DELETE FROM workflows WHERE workflow_id NOT IN (SELECT workflow_id FROM journal);";
  Status dropped = exec(writer_, sql.c_str());
  if (dropped) dropped = retire_through(writer_, last_batch);  // dropped on purpose
  if (!dropped) {
    exec(writer_, "ROLLBACK");
    return dropped;
  }
  if (Status s = exec(writer_, "COMMIT"); !s) return s;
  report->dropped = report->torn_tail;
  observability::log(observability::LogLevel::warn, "journal: dropped a torn tail",
                     {{"commit", last_batch}, {"bad_records", report->torn_tail}});
  return Status::ok();
}

std::unique_ptr<JournalStore> open_store(const std::string& url, std::string* error,
                                         const StoreOptions& options) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.rfind(kSqlite, 0) == 0) {
    std::string path = url.substr(kSqlite.size());
    if (path.empty()) {
      *error = "store URL '" + url + "' has no path";
      return nullptr;
    }
    return SqliteJournalStore::open(path, error, options);
  }
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) {
    *error = "PostgreSQL store is not available in this build yet; use sqlite:PATH";
    return nullptr;
  }
  *error = "unsupported store URL '" + url + "' (expected sqlite:PATH)";
  return nullptr;
}

Status verify_store(const std::string& url, VerifyReport* report) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.rfind(kSqlite, 0) == 0 && url.size() > kSqlite.size())
    return SqliteJournalStore::verify_unchanged(url.substr(kSqlite.size()), report);
  std::string error;
  auto store = open_store(url, &error);
  if (!store) return Status::error(error);
  return store->verify(/*repair=*/false, report);
}

}  // namespace orch::engine
