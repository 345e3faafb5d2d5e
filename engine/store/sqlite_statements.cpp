#include "engine/store/sqlite_statements.h"

namespace orch::engine::sqlite {

Status error(sqlite3* db, const std::string& what) {
  return Status::error(what + ": " + (db ? sqlite3_errmsg(db) : "no database"));
}

Status exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    return Status::error(std::string("sqlite: ") + msg);
  }
  return Status::ok();
}

Status prepare_persistent(sqlite3* db, const char* sql, sqlite3_stmt** out) {
  return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, nullptr) == SQLITE_OK
             ? Status::ok()
             : error(db, std::string("prepare ") + sql);
}

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

std::string column_text(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? std::string(reinterpret_cast<const char*>(t),
                         static_cast<size_t>(sqlite3_column_bytes(s, i)))
           : std::string();
}

std::int64_t query_int(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  std::int64_t value = 0;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
    value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return value;
}

Status retire_through(sqlite3* db, std::int64_t commit) {
  const std::string sql = std::string("INSERT INTO journal_meta(key, value) VALUES('") +
                          kRetiredThrough + "', " + std::to_string(commit) +
                          ") ON CONFLICT(key) DO UPDATE SET value = MAX(value, excluded.value)";
  return exec(db, sql.c_str());
}


Status decode_record(sqlite3_stmt* stmt, JournalRecord* r) {
  const sqlite3_int64 offset = sqlite3_column_int64(stmt, 0);
  r->workflow_id = column_text(stmt, 1);
  r->seq = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 2));
  auto type = record_type_from_int(sqlite3_column_int(stmt, 3));
  r->time_ms = sqlite3_column_int64(stmt, 4);
  r->payload = column_text(stmt, 5);
  const auto stored = static_cast<std::uint32_t>(sqlite3_column_int64(stmt, 6));
  if (!type)
    return Status::corruption("journal corrupt: workflow " + r->workflow_id + " at offset " +
                              std::to_string(offset) + ": unknown record type");
  r->type = *type;
  if (r->checksum() != stored)
    return Status::corruption("journal corrupt: workflow " + r->workflow_id + " at offset " +
                              std::to_string(offset) + ": checksum mismatch");
  return Status::ok();
}

Status prepare(sqlite3* db, const char* sql, Statement* out) {
  if (sqlite3_prepare_v2(db, sql, -1, &out->stmt, nullptr) != SQLITE_OK)
    return error(db, std::string("prepare ") + sql);
  return Status::ok();
}

}  // namespace orch::engine::sqlite
