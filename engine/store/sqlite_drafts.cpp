// SqliteJournalStore's drafts (JournalStore::put_draft, get_draft), on a
// connection of their own (serialised by draft_mu_).
#include <sqlite3.h>

#include <string>

#include "engine/store/sqlite_journal_store.h"
#include "engine/store/sqlite_statements.h"

namespace orch::engine {

namespace {

using sqlite::bind_text;
using sqlite::column_text;
const auto& sqlite_error = sqlite::error;

}  // namespace

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

}  // namespace orch::engine
