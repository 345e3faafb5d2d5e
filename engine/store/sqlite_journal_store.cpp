// SqliteJournalStore's life: the schema, open() (the check of the files and
// the high-water mark before SQLite repairs anything, a loss refused or
// accepted), the connections and statements it keeps, and the store URLs.
// Appends: sqlite_journal_writes.cpp; reads: sqlite_journal_reads.cpp;
// verification: sqlite_journal_verify.cpp; drafts: sqlite_drafts.cpp;
// entities: sqlite_entity_records.cpp.
#include "engine/store/sqlite_journal_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "engine/store/sqlite_statements.h"
#include "engine/store/sqlite_wal_buffer.h"
#include "observability/log.h"

namespace orch::engine {

namespace {

using sqlite::exec;
using sqlite::kCleanThrough;
using sqlite::kRetiredThrough;
using sqlite::prepare_persistent;
using sqlite::query_int;
using sqlite::retire_through;
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
-- Documents (document_store.h): rows a kind keeps by id; seq orders them
-- newest first for stable pages, index_a and index_b are what lists filter
-- on.
CREATE TABLE IF NOT EXISTS documents (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  collection TEXT    NOT NULL,
  id         TEXT    NOT NULL,
  body       TEXT    NOT NULL,
  index_a    TEXT    NOT NULL DEFAULT '',
  index_b    TEXT    NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS documents_by_id ON documents(collection, id);
CREATE INDEX IF NOT EXISTS documents_by_a ON documents(collection, index_a, seq);
CREATE INDEX IF NOT EXISTS documents_by_b ON documents(collection, index_b, seq);
-- Fan-out items (fan_out_store.h) and their counts by status, kept in the
-- same transaction as the items.
CREATE TABLE IF NOT EXISTS fan_out_items (
  fan_out    TEXT    NOT NULL,
  key        TEXT    NOT NULL,
  ordinal    INTEGER NOT NULL,
  status     TEXT    NOT NULL,
  attempts   INTEGER NOT NULL,
  detail     TEXT    NOT NULL,
  error      TEXT    NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (fan_out, key)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS fan_out_items_in_order ON fan_out_items(fan_out, ordinal);
CREATE INDEX IF NOT EXISTS fan_out_items_by_status ON fan_out_items(fan_out, status, ordinal);
CREATE TABLE IF NOT EXISTS fan_out_counts (
  fan_out TEXT    NOT NULL,
  status  TEXT    NOT NULL,
  items   INTEGER NOT NULL,
  PRIMARY KEY (fan_out, status)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS drafts (
  draft_id   TEXT PRIMARY KEY,
  body       TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
)sql";

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
  // Reads through a memory map instead of a pread per page: point lookups
  // (a batch of events' customers, the items of an event) cost about half.
  exec(reader_, "PRAGMA mmap_size=268435456;");
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
  if (Status s = prepare_persistent(
          reader_,
          "SELECT offset, workflow_id, seq, type, time_ms, payload, checksum FROM journal "
          "WHERE workflow_id=? ORDER BY seq",
          &select_workflow_);
      !s)
    return s;
  // An entity's records from its latest snapshot (which compaction keeps
  // few), through the (workflow_id, seq) index. Prepared once: preparing it
  // on every read-back was about a tenth of the server's time when most
  // reservations read their user back (bench --reservations, 100,000 users).
  return prepare_persistent(
      reader_,
      ("SELECT offset, workflow_id, seq, type, time_ms, payload, checksum FROM journal "
       "WHERE workflow_id=?1 AND seq >= COALESCE((SELECT MAX(seq) FROM journal "
       "WHERE workflow_id=?1 AND type=" +
       std::to_string(static_cast<int>(RecordType::entity_snapshot)) + "), 0) ORDER BY seq")
          .c_str(),
      &select_entity_);
}

SqliteJournalStore::~SqliteJournalStore() {
  for (sqlite3_stmt* stmt : insert_records_) sqlite3_finalize(stmt);
  sqlite3_finalize(upsert_summary_);
  sqlite3_finalize(update_summary_);
  sqlite3_finalize(select_workflow_);
  sqlite3_finalize(select_entity_);
  if (reader_) sqlite3_close(reader_);
  if (drafts_) sqlite3_close(drafts_);
  if (writer_) sqlite3_close(writer_);
  checkpointer_.reset();
  if (mark_) mark_->sync();
}

WalCheckpointer::Stats SqliteJournalStore::checkpoint_stats() const {
  return checkpointer_ ? checkpointer_->stats() : WalCheckpointer::Stats{};
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
