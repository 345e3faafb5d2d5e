// SqliteJournalStore's documents (document_store.h): the documents table,
// written on the writer connection (the journal's writer thread), read on
// the reader connection.
#include <sqlite3.h>

#include <string>

#include "engine/store/sqlite_journal_store.h"
#include "engine/store/sqlite_statements.h"

namespace orch::engine {

namespace {

using sqlite::bind_text;
using sqlite::column_text;

using sqlite::in_transaction;
using sqlite::Statement;

void read_document(sqlite3_stmt* stmt, Document* d) {
  d->seq = sqlite3_column_int64(stmt, 0);
  d->collection = column_text(stmt, 1);
  d->id = column_text(stmt, 2);
  d->body = column_text(stmt, 3);
  d->index_a = column_text(stmt, 4);
  d->index_b = column_text(stmt, 5);
  d->created_ms = sqlite3_column_int64(stmt, 6);
  d->updated_ms = sqlite3_column_int64(stmt, 7);
}

constexpr const char* kColumns =
    "seq, collection, id, body, index_a, index_b, created_ms, updated_ms";

// The WHERE clause of a query's filters, binding from parameter 2 on
// (parameter 1 is the collection).
std::string filter_sql(const DocumentQuery& q) {
  std::string sql = " WHERE collection=?1";
  if (!q.index_a.empty()) sql += " AND index_a=?2";
  if (!q.index_b.empty()) sql += " AND index_b=?3";
  return sql;
}

void bind_filter(sqlite3_stmt* stmt, const DocumentQuery& q) {
  bind_text(stmt, 1, q.collection);
  if (!q.index_a.empty()) bind_text(stmt, 2, q.index_a);
  if (!q.index_b.empty()) bind_text(stmt, 3, q.index_b);
}

}  // namespace

Status SqliteJournalStore::put_documents(const std::vector<Document>& documents,
                                         std::vector<DocumentWrite>* results) {
  std::vector<DocumentWrite> writes;
  Status s = in_transaction(writer_, [&]() -> Status {
    Statement find, insert, update;
    if (Status p = sqlite::prepare(writer_,
                           "SELECT body, index_a, index_b FROM documents "
                           "WHERE collection=? AND id=?",
                           &find);
        !p)
      return p;
    if (Status p = sqlite::prepare(writer_,
                           "INSERT INTO documents(collection, id, body, index_a, index_b, "
                           "created_ms, updated_ms) VALUES(?1,?2,?3,?4,?5,?6,?6)",
                           &insert);
        !p)
      return p;
    if (Status p = sqlite::prepare(writer_,
                           "UPDATE documents SET body=?3, index_a=?4, index_b=?5, updated_ms=?6 "
                           "WHERE collection=?1 AND id=?2",
                           &update);
        !p)
      return p;
    for (const Document& d : documents) {
      bind_text(find.stmt, 1, d.collection);
      bind_text(find.stmt, 2, d.id);
      const int found = sqlite3_step(find.stmt);
      if (found != SQLITE_ROW && found != SQLITE_DONE) return sqlite::error(writer_, "find document");
      DocumentWrite write = DocumentWrite::inserted;
      if (found == SQLITE_ROW) {
        const bool same = column_text(find.stmt, 0) == d.body &&
                          column_text(find.stmt, 1) == d.index_a &&
                          column_text(find.stmt, 2) == d.index_b;
        write = same ? DocumentWrite::unchanged : DocumentWrite::updated;
      }
      sqlite3_reset(find.stmt);
      writes.push_back(write);
      if (write == DocumentWrite::unchanged) continue;
      sqlite3_stmt* stmt = write == DocumentWrite::inserted ? insert.stmt : update.stmt;
      bind_text(stmt, 1, d.collection);
      bind_text(stmt, 2, d.id);
      bind_text(stmt, 3, d.body);
      bind_text(stmt, 4, d.index_a);
      bind_text(stmt, 5, d.index_b);
      sqlite3_bind_int64(stmt, 6, d.updated_ms);
      const int rc = sqlite3_step(stmt);
      sqlite3_reset(stmt);
      if (rc != SQLITE_DONE) return sqlite::error(writer_, "put document " + d.id);
    }
    return Status::ok();
  });
  if (s && results) *results = std::move(writes);
  return s;
}

Status SqliteJournalStore::delete_document(const std::string& collection, const std::string& id,
                                           DocumentWrite* result) {
  Statement del;
  if (Status p = sqlite::prepare(writer_, "DELETE FROM documents WHERE collection=? AND id=?", &del); !p)
    return p;
  bind_text(del.stmt, 1, collection);
  bind_text(del.stmt, 2, id);
  if (sqlite3_step(del.stmt) != SQLITE_DONE) return sqlite::error(writer_, "delete document " + id);
  *result = sqlite3_changes(writer_) > 0 ? DocumentWrite::deleted : DocumentWrite::absent;
  return Status::ok();
}

Status SqliteJournalStore::get_document(const std::string& collection, const std::string& id,
                                        Document* out, bool* found) {
  std::lock_guard lock(read_mu_);
  Statement get;
  const std::string sql =
      std::string("SELECT ") + kColumns + " FROM documents WHERE collection=? AND id=?";
  if (Status p = sqlite::prepare(reader_, sql.c_str(), &get); !p) return p;
  bind_text(get.stmt, 1, collection);
  bind_text(get.stmt, 2, id);
  const int rc = sqlite3_step(get.stmt);
  *found = rc == SQLITE_ROW;
  if (*found) read_document(get.stmt, out);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? Status::ok()
                                               : sqlite::error(reader_, "get document " + id);
}

Status SqliteJournalStore::missing_documents(const std::string& collection,
                                             const std::vector<std::string>& ids,
                                             std::vector<std::string>* missing) {
  std::lock_guard lock(read_mu_);
  Statement find;
  if (Status p = sqlite::prepare(reader_, "SELECT 1 FROM documents WHERE collection=? AND id=?", &find); !p)
    return p;
  // One read transaction for the batch, not one per lookup.
  if (Status s = sqlite::exec(reader_, "BEGIN"); !s) return s;
  Status s = Status::ok();
  for (const std::string& id : ids) {
    bind_text(find.stmt, 1, collection);
    bind_text(find.stmt, 2, id);
    const int rc = sqlite3_step(find.stmt);
    sqlite3_reset(find.stmt);
    if (rc == SQLITE_DONE) missing->push_back(id);
    else if (rc != SQLITE_ROW) {
      s = sqlite::error(reader_, "find documents");
      break;
    }
  }
  sqlite::exec(reader_, "COMMIT");
  return s;
}

Status SqliteJournalStore::list_documents(const DocumentQuery& query, std::vector<Document>* out,
                                          bool* more) {
  std::lock_guard lock(read_mu_);
  Statement list;
  std::string sql = std::string("SELECT ") + kColumns + " FROM documents" + filter_sql(query);
  if (query.before_seq > 0) sql += " AND seq<?4";
  sql += " ORDER BY seq DESC LIMIT ?5";
  if (Status p = sqlite::prepare(reader_, sql.c_str(), &list); !p) return p;
  bind_filter(list.stmt, query);
  if (query.before_seq > 0) sqlite3_bind_int64(list.stmt, 4, query.before_seq);
  sqlite3_bind_int64(list.stmt, 5, static_cast<sqlite3_int64>(query.limit + 1));
  int rc;
  *more = false;
  while ((rc = sqlite3_step(list.stmt)) == SQLITE_ROW) {
    if (out->size() == query.limit) {
      *more = true;
      break;
    }
    read_document(list.stmt, &out->emplace_back());
  }
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? Status::ok()
                                               : sqlite::error(reader_, "list documents");
}

Status SqliteJournalStore::count_documents(const DocumentQuery& query, std::uint64_t* count) {
  std::lock_guard lock(read_mu_);
  Statement c;
  const std::string sql = "SELECT count(*) FROM documents" + filter_sql(query);
  if (Status p = sqlite::prepare(reader_, sql.c_str(), &c); !p) return p;
  bind_filter(c.stmt, query);
  if (sqlite3_step(c.stmt) != SQLITE_ROW) return sqlite::error(reader_, "count documents");
  *count = static_cast<std::uint64_t>(sqlite3_column_int64(c.stmt, 0));
  return Status::ok();
}

}  // namespace orch::engine
