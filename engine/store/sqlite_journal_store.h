// JournalStore on SQLite: WAL mode, synchronous=FULL (every commit is fsynced),
// one writer connection and one reader connection; the log is checkpointed
// on a thread of its own (wal_checkpointer.h).
#pragma once

#include <array>
#include <cstddef>
#include <mutex>
#include <string>

#include "engine/store/journal_high_water.h"
#include "engine/journal/journal_store.h"
#include "engine/store/sqlite_store_check.h"
#include "engine/store/wal_checkpointer.h"

struct sqlite3;
struct sqlite3_stmt;

namespace orch::engine {

class SqliteJournalStore final : public JournalStore, public DocumentStore, public FanOutStore {
 public:
  // Opens or creates the database at `path` (parent directory is created).
  // Before SQLite repairs anything, checks what the files and the high-water
  // mark show missing (sqlite_store_check.h); a store that lost committed
  // data is refused, changing nothing on disk, or accepted, as
  // options.on_loss says.
  static std::unique_ptr<SqliteJournalStore> open(const std::string& path, std::string* error,
                                                  const StoreOptions& options = {});
  // verify_store() for a store at `path`: reports a loss instead of refusing
  // it, and changes nothing on disk (no schema, no checkpoint, not even at
  // close, no mark written).
  static Status verify_unchanged(const std::string& path, VerifyReport* report);
  ~SqliteJournalStore() override;

  Status append(const std::vector<JournalRecord>& records,
                const std::vector<WorkflowSummary>& summaries) override;
  Status load_workflow(const std::string& workflow_id,
                       std::vector<JournalRecord>* out) override;
  Status load_workflow_page(const std::string& workflow_id, std::uint64_t from_seq,
                            std::size_t max_records, std::size_t max_bytes,
                            WorkflowPage* page) override;
  Status load_unfinished(const std::function<void(std::vector<JournalRecord>&&)>& visit,
                         const std::vector<std::string>& lazy_statuses = {},
                         const DamageVisitor& damaged = nullptr) override;
  Status load_summaries(std::vector<WorkflowSummary>* out) override;
  // Entities: engine/store/sqlite_entity_records.cpp.
  Status load_entity(const std::string& id, std::vector<JournalRecord>* out) override;
  Status list_entities(const std::string& kind, std::size_t offset, std::size_t limit,
                       std::vector<std::string>* keys, std::size_t* total) override;
  DocumentStore& documents() override { return *this; }
  FanOutStore& fan_outs() override { return *this; }
  Status in_one_transaction(const std::function<Status()>& writes) override;
  // Documents: engine/store/sqlite_documents.cpp.
  Status put_documents(const std::vector<Document>& documents,
                       std::vector<DocumentWrite>* results) override;
  Status delete_document(const std::string& collection, const std::string& id,
                         DocumentWrite* result) override;
  Status get_document(const std::string& collection, const std::string& id, Document* out,
                      bool* found) override;
  Status missing_documents(const std::string& collection, const std::vector<std::string>& ids,
                           std::vector<std::string>* missing) override;
  Status list_documents(const DocumentQuery& query, std::vector<Document>* out,
                        bool* more) override;
  Status count_documents(const DocumentQuery& query, std::uint64_t* count) override;
  // Fan-out items: engine/store/sqlite_fan_out_items.cpp.
  Status add_fan_out_items(const std::vector<FanOutItem>& items, std::size_t* added,
                           std::vector<bool>* which = nullptr) override;
  Status update_fan_out_items(const std::vector<FanOutUpdate>& updates,
                              std::size_t* applied) override;
  Status fan_out_items(const FanOutItemQuery& query, std::vector<FanOutItem>* out) override;
  Status fan_out_item(const std::string& fan_out, const std::string& key, FanOutItem* out,
                      bool* found) override;
  Status fan_out_counts(const std::string& fan_out,
                        std::map<std::string, std::uint64_t>* counts) override;
  Status fan_out_last_ordinal(const std::string& fan_out, std::int64_t* ordinal) override;
  Status put_draft(const std::string& id, const std::string& body, TimeMs at) override;
  Status get_draft(const std::string& id, std::string* body, bool* found) override;
  Status verify(bool repair, VerifyReport* report) override;
  Status verify_since_clean_shutdown(bool repair, VerifyReport* report) override;
  void mark_clean_shutdown() override;
  Status delete_workflows(const std::vector<std::string>& workflow_ids) override;

  // What the background checkpointer did; all zero when the options left
  // checkpoints to SQLite.
  WalCheckpointer::Stats checkpoint_stats() const;

 private:
  enum class Mode {
    serve,    // read and write; a loss as StoreOptions::on_loss says
    inspect,  // read only, nothing changed on disk, a loss reported by verify()
  };

  SqliteJournalStore() = default;
  static std::unique_ptr<SqliteJournalStore> open_checked(const std::string& path, StoreCheck check,
                                                          const StoreOptions& options, Mode mode,
                                                          std::string* error);
  // The rest of open() once the store may be written: pragmas, schema, the
  // other connections, the checkpointer, the mark.
  Status open_for_writing(const StoreOptions& options);
  // The rest of open() for verify() alone: read-only connections that never
  // checkpoint.
  Status open_to_inspect();
  // Records that the operator accepted check_.lost: the missing commits count
  // as retired, and the log is emptied of the frames SQLite dropped.
  Status accept_loss();
  Status prepare();
  // The INSERT of `rows` journal records in one statement, prepared on first
  // use. REQUIRES: 1 <= rows <= kRowsPerInsert; the writer thread.
  sqlite3_stmt* insert_statement(std::size_t rows, Status* error);
  // For entity_started records in `records`, lists the entity; for
  // entity_snapshot records, deletes the entity's records before it.
  // REQUIRES: the writer thread, inside append's transaction.
  Status apply_entity_records(const std::vector<JournalRecord>& records);
  // verify() of the records after `after_offset` (0: all of them).
  Status verify_from(std::int64_t after_offset, bool repair, VerifyReport* report);
  // Steps `stmt` and decodes each row until done or `emit` returns false.
  Status read_records(sqlite3_stmt* stmt, const std::function<bool(JournalRecord&&)>& emit);
  // Raises the high-water mark to this commit (next_batch_, its newest record
  // at `newest_offset`) once it is durable; a failure is logged once until a
  // write succeeds. REQUIRES: the writer thread, after append's COMMIT.
  void advance_mark(std::int64_t newest_offset);

  // Constant after construction.
  std::string path_;
  StoreCheck check_;  // what open() found missing, or accepted as missing
  sqlite3* writer_ = nullptr;
  std::int64_t next_batch_ = 1;  // writer thread only
  sqlite3* reader_ = nullptr;
  // Advanced after each commit with records; null when inspecting. Writer
  // thread only.
  std::unique_ptr<HighWaterMark> mark_;
  bool mark_failing_ = false;  // writer thread only: the last advance failed

  // One statement per row count (index = rows; [0] unused): a group commit
  // inserts its records kRowsPerInsert at a time. Writer thread only.
  static constexpr std::size_t kRowsPerInsert = 32;
  std::array<sqlite3_stmt*, kRowsPerInsert + 1> insert_records_{};
  sqlite3_stmt* upsert_summary_ = nullptr;  // writer thread only
  sqlite3_stmt* update_summary_ = nullptr;  // writer thread only
  std::mutex read_mu_;                      // serialises reader_ use
  sqlite3_stmt* select_workflow_ = nullptr;  // GUARDED_BY(read_mu_)
  sqlite3_stmt* select_entity_ = nullptr;    // GUARDED_BY(read_mu_)
  std::mutex draft_mu_;                       // serialises drafts_ use
  sqlite3* drafts_ = nullptr;                 // GUARDED_BY(draft_mu_)
  // Destroyed after every connection above is closed (see the destructor).
  std::unique_ptr<WalCheckpointer> checkpointer_;
};

}  // namespace orch::engine
