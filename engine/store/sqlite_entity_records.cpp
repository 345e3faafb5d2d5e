// SqliteJournalStore's entity records (see JournalStore "Entities"): an
// entity's journal is its records under "kind:key" in the journal table; the
// entities table lists them by kind.
#include <sqlite3.h>

#include "engine/store/sqlite_journal_store.h"
#include "engine/store/sqlite_statements.h"

namespace orch::engine {

namespace {
std::string kind_of(const std::string& id) { return id.substr(0, id.find(':')); }
}  // namespace

Status SqliteJournalStore::apply_entity_records(const std::vector<JournalRecord>& records) {
  for (const JournalRecord& r : records) {
    const bool started = r.type == RecordType::entity_started;
    if (!started && r.type != RecordType::entity_snapshot) continue;
    sqlite3_stmt* stmt = nullptr;
    const char* sql = started ? "INSERT OR IGNORE INTO entities(entity_id, kind, created_ms) "
                                "VALUES(?1, ?2, ?3)"
                              : "DELETE FROM journal WHERE workflow_id=?1 AND seq<?3";
    if (sqlite3_prepare_v2(writer_, sql, -1, &stmt, nullptr) != SQLITE_OK)
      return sqlite::error(writer_, "prepare entity records");
    const std::string kind = kind_of(r.workflow_id);
    sqlite::bind_text(stmt, 1, r.workflow_id);
    if (started) sqlite::bind_text(stmt, 2, kind);
    sqlite3_bind_int64(stmt, 3, started ? r.time_ms : static_cast<sqlite3_int64>(r.seq));
    const int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return sqlite::error(writer_, "entity records of " + r.workflow_id);
  }
  return Status::ok();
}

Status SqliteJournalStore::load_entity(const std::string& id, std::vector<JournalRecord>* out) {
  std::lock_guard lock(read_mu_);
  sqlite::StatementReset reset{select_entity_};
  sqlite::bind_text(select_entity_, 1, id);
  return read_records(select_entity_, [&](JournalRecord&& r) {
    out->push_back(std::move(r));
    return true;
  });
}

Status SqliteJournalStore::list_entities(const std::string& kind, std::size_t offset,
                                         std::size_t limit, std::vector<std::string>* keys,
                                         std::size_t* total) {
  std::lock_guard lock(read_mu_);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(reader_, "SELECT count(*) FROM entities WHERE kind=?", -1, &stmt,
                         nullptr) != SQLITE_OK)
    return sqlite::error(reader_, "prepare list_entities");
  sqlite::bind_text(stmt, 1, kind);
  *total = sqlite3_step(stmt) == SQLITE_ROW ? static_cast<std::size_t>(sqlite3_column_int64(stmt, 0))
                                            : 0;
  sqlite3_finalize(stmt);
  if (sqlite3_prepare_v2(reader_,
                         "SELECT entity_id FROM entities WHERE kind=? ORDER BY entity_id "
                         "LIMIT ? OFFSET ?",
                         -1, &stmt, nullptr) != SQLITE_OK)
    return sqlite::error(reader_, "prepare list_entities");
  sqlite::bind_text(stmt, 1, kind);
  sqlite3_bind_int64(stmt, 2, static_cast<sqlite3_int64>(limit));
  sqlite3_bind_int64(stmt, 3, static_cast<sqlite3_int64>(offset));
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const std::string id = sqlite::column_text(stmt, 0);
    keys->push_back(id.substr(id.find(':') + 1));
  }
  sqlite3_finalize(stmt);
  return rc == SQLITE_DONE ? Status::ok() : sqlite::error(reader_, "list_entities");
}

}  // namespace orch::engine
