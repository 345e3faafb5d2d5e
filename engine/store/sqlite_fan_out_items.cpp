// SqliteJournalStore's fan-out items (fan_out_store.h): the fan_out_items
// table and its per-status counts in fan_out_counts, changed together in one
// transaction on the writer connection; read on the reader connection.
#include <sqlite3.h>

#include <map>
#include <string>
#include <utility>

#include "engine/store/sqlite_journal_store.h"
#include "engine/store/sqlite_statements.h"

namespace orch::engine {

namespace {

using sqlite::bind_text;
using sqlite::column_text;
using sqlite::Statement;

constexpr const char* kItemColumns =
    "fan_out, key, ordinal, status, attempts, detail, error, created_ms, updated_ms";

void read_item(sqlite3_stmt* stmt, FanOutItem* item) {
  item->fan_out = column_text(stmt, 0);
  item->key = column_text(stmt, 1);
  item->ordinal = sqlite3_column_int64(stmt, 2);
  item->status = column_text(stmt, 3);
  item->attempts = sqlite3_column_int(stmt, 4);
  item->detail = column_text(stmt, 5);
  item->error = column_text(stmt, 6);
  item->created_ms = sqlite3_column_int64(stmt, 7);
  item->updated_ms = sqlite3_column_int64(stmt, 8);
}

// Adds `delta` to the count of (fan_out, status).
Status count(sqlite3* db, sqlite3_stmt* stmt, const std::string& fan_out,
             const std::string& status, int delta) {
  bind_text(stmt, 1, fan_out);
  bind_text(stmt, 2, status);
  sqlite3_bind_int(stmt, 3, delta);
  const int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  return rc == SQLITE_DONE ? Status::ok() : sqlite::error(db, "count fan-out items");
}

constexpr const char* kCountSql =
    "INSERT INTO fan_out_counts(fan_out, status, items) VALUES(?1, ?2, ?3) "
    "ON CONFLICT(fan_out, status) DO UPDATE SET items = items + excluded.items";

}  // namespace

Status SqliteJournalStore::add_fan_out_items(const std::vector<FanOutItem>& items,
                                             std::size_t* added, std::vector<bool>* which) {
  std::size_t n = 0;
  if (which) which->assign(items.size(), false);
  Status s = sqlite::in_transaction(writer_, [&]() -> Status {
    Statement insert, counts;
    if (Status p = sqlite::prepare(
            writer_,
            "INSERT OR IGNORE INTO fan_out_items(fan_out, key, ordinal, status, attempts, detail, "
            "error, created_ms, updated_ms) VALUES(?,?,?,?,?,?,?,?,?)",
            &insert);
        !p)
      return p;
    if (Status p = sqlite::prepare(writer_, kCountSql, &counts); !p) return p;
    // New items by (fan-out, status), counted once each at the end: a batch
    // of a thousand events is one counts row written, not a thousand.
    std::map<std::pair<std::string, std::string>, int> added_by_status;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const FanOutItem& item = items[i];
      bind_text(insert.stmt, 1, item.fan_out);
      bind_text(insert.stmt, 2, item.key);
      sqlite3_bind_int64(insert.stmt, 3, item.ordinal);
      bind_text(insert.stmt, 4, item.status);
      sqlite3_bind_int(insert.stmt, 5, item.attempts);
      bind_text(insert.stmt, 6, item.detail);
      bind_text(insert.stmt, 7, item.error);
      sqlite3_bind_int64(insert.stmt, 8, item.created_ms);
      sqlite3_bind_int64(insert.stmt, 9, item.updated_ms);
      const int rc = sqlite3_step(insert.stmt);
      sqlite3_reset(insert.stmt);
      if (rc != SQLITE_DONE) return sqlite::error(writer_, "add fan-out item " + item.key);
      if (sqlite3_changes(writer_) == 0) continue;
      ++n;
      if (which) (*which)[i] = true;
      ++added_by_status[{item.fan_out, item.status}];
    }
    for (const auto& [key, delta] : added_by_status)
      if (Status c = count(writer_, counts.stmt, key.first, key.second, delta); !c) return c;
    return Status::ok();
  });
  if (s && added) *added = n;
  return s;
}

Status SqliteJournalStore::in_one_transaction(const std::function<Status()>& writes) {
  return sqlite::in_transaction(writer_, writes);
}

Status SqliteJournalStore::update_fan_out_items(const std::vector<FanOutUpdate>& updates,
                                                std::size_t* applied) {
  std::size_t n = 0;
  Status s = sqlite::in_transaction(writer_, [&]() -> Status {
    Statement update, counts;
    if (Status p = sqlite::prepare(writer_,
                                   "UPDATE fan_out_items SET status=?3, attempts=?4, detail=?5, "
                                   "error=?6, updated_ms=?7 WHERE fan_out=?1 AND key=?2 AND "
                                   "status=?8",
                                   &update);
        !p)
      return p;
    if (Status p = sqlite::prepare(writer_, kCountSql, &counts); !p) return p;
    for (const FanOutUpdate& u : updates) {
      const FanOutItem& item = u.item;
      bind_text(update.stmt, 1, item.fan_out);
      bind_text(update.stmt, 2, item.key);
      bind_text(update.stmt, 3, item.status);
      sqlite3_bind_int(update.stmt, 4, item.attempts);
      bind_text(update.stmt, 5, item.detail);
      bind_text(update.stmt, 6, item.error);
      sqlite3_bind_int64(update.stmt, 7, item.updated_ms);
      bind_text(update.stmt, 8, u.from_status);
      const int rc = sqlite3_step(update.stmt);
      sqlite3_reset(update.stmt);
      if (rc != SQLITE_DONE) return sqlite::error(writer_, "update fan-out item " + item.key);
      if (sqlite3_changes(writer_) == 0 || u.from_status == item.status) {
        n += sqlite3_changes(writer_) > 0;
        continue;
      }
      ++n;
      if (Status c = count(writer_, counts.stmt, item.fan_out, u.from_status, -1); !c) return c;
      if (Status c = count(writer_, counts.stmt, item.fan_out, item.status, 1); !c) return c;
    }
    return Status::ok();
  });
  if (s && applied) *applied = n;
  return s;
}

Status SqliteJournalStore::fan_out_items(const FanOutItemQuery& query,
                                         std::vector<FanOutItem>* out) {
  std::lock_guard lock(read_mu_);
  Statement list;
  std::string sql = std::string("SELECT ") + kItemColumns +
                    " FROM fan_out_items WHERE fan_out=?1 AND ordinal>?2";
  if (!query.status.empty()) sql += " AND status=?3";
  sql += " ORDER BY ordinal LIMIT ?4";
  if (Status p = sqlite::prepare(reader_, sql.c_str(), &list); !p) return p;
  bind_text(list.stmt, 1, query.fan_out);
  sqlite3_bind_int64(list.stmt, 2, query.after_ordinal);
  if (!query.status.empty()) bind_text(list.stmt, 3, query.status);
  sqlite3_bind_int64(list.stmt, 4, static_cast<sqlite3_int64>(query.limit));
  int rc;
  while ((rc = sqlite3_step(list.stmt)) == SQLITE_ROW) read_item(list.stmt, &out->emplace_back());
  return rc == SQLITE_DONE ? Status::ok() : sqlite::error(reader_, "list fan-out items");
}

Status SqliteJournalStore::fan_out_item(const std::string& fan_out, const std::string& key,
                                        FanOutItem* out, bool* found) {
  std::lock_guard lock(read_mu_);
  Statement get;
  const std::string sql =
      std::string("SELECT ") + kItemColumns + " FROM fan_out_items WHERE fan_out=? AND key=?";
  if (Status p = sqlite::prepare(reader_, sql.c_str(), &get); !p) return p;
  bind_text(get.stmt, 1, fan_out);
  bind_text(get.stmt, 2, key);
  const int rc = sqlite3_step(get.stmt);
  *found = rc == SQLITE_ROW;
  if (*found) read_item(get.stmt, out);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? Status::ok()
                                               : sqlite::error(reader_, "get fan-out item");
}

Status SqliteJournalStore::fan_out_counts(const std::string& fan_out,
                                          std::map<std::string, std::uint64_t>* counts) {
  std::lock_guard lock(read_mu_);
  Statement c;
  if (Status p = sqlite::prepare(reader_,
                                 "SELECT status, items FROM fan_out_counts WHERE fan_out=?", &c);
      !p)
    return p;
  bind_text(c.stmt, 1, fan_out);
  int rc;
  while ((rc = sqlite3_step(c.stmt)) == SQLITE_ROW)
    (*counts)[column_text(c.stmt, 0)] = static_cast<std::uint64_t>(sqlite3_column_int64(c.stmt, 1));
  return rc == SQLITE_DONE ? Status::ok() : sqlite::error(reader_, "count fan-out items");
}

Status SqliteJournalStore::fan_out_last_ordinal(const std::string& fan_out,
                                                std::int64_t* ordinal) {
  std::lock_guard lock(read_mu_);
  Statement c;
  if (Status p = sqlite::prepare(reader_,
                                 "SELECT max(ordinal) FROM fan_out_items WHERE fan_out=?", &c);
      !p)
    return p;
  bind_text(c.stmt, 1, fan_out);
  if (sqlite3_step(c.stmt) != SQLITE_ROW) return sqlite::error(reader_, "last fan-out ordinal");
  *ordinal = sqlite3_column_int64(c.stmt, 0);
  return Status::ok();
}

}  // namespace orch::engine
