// Where journal records live. The SQLite store is the embedded default; the
// interface is what a PostgreSQL store implements for multi-node setups.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/journal/document_store.h"
#include "engine/journal/fan_out_store.h"
#include "engine/journal/journal_record.h"
#include "engine/common/status.h"

namespace orch::engine {

// The listing row of one workflow, kept in step with its journal in the same
// transaction so lists and idempotent starts survive restarts.
struct WorkflowSummary {
  std::string workflow_id;
  std::string run_id;
  std::string definition;
  std::string status;
  std::string phase;
  TimeMs created_ms = 0;
  TimeMs updated_ms = 0;
  std::string idempotency_key;  // may be empty
  std::string input_hash;
  // When the engine must next look at the workflow by itself (an approval
  // deadline), as decided by the same commit: 0 = only when told (a signal,
  // an update, a cancel); -1 = unknown (a row written before this was kept).
  // Lets a restart leave a workflow that waits for a human on disk.
  TimeMs wake_ms = -1;
  // The row was written before (by an earlier commit), so the store may
  // update its changing columns instead of inserting it. A hint: a store
  // that finds no row inserts it whole.
  bool stored = false;

  // Takes what a later row of the same workflow changes (status, phase,
  // updated_ms, wake_ms); the first row's identity, creation time, key and
  // input hash stay.
  void update_from(const WorkflowSummary& later) {
    status = later.status;
    phase = later.phase;
    updated_ms = later.updated_ms;
    wake_ms = later.wake_ms;
  }
};

// What verify() found. `torn_tail` records are those of the last commit whose
// checksum or shape is wrong: a write the storage tore. Anything wrong
// before that is `corrupt` and stops a start.
struct VerifyReport {
  std::uint64_t records = 0;
  std::uint64_t workflows = 0;
  std::uint64_t commits = 0;
  std::uint64_t torn_tail = 0;       // records of the last commit found bad
  std::uint64_t dropped = 0;         // records removed by repair
  std::string corrupt;               // first error before the tail ("" = none)
  // Every workflow with a bad record before the tail, and its first error
  // (naming the offset): a start quarantines them (WorkflowEngine::damage).
  std::map<std::string, std::string> damaged;
  // Committed data the store cannot give back, one reason a line, found
  // when it was opened: what its storage dropped (a damaged or cut log, a
  // truncated or replaced database) measured against what was durable.
  std::vector<std::string> lost;
  std::vector<std::string> warnings;  // e.g. a torn last commit the storage dropped
  // What the store found on opening, name and value (-1: unknown), e.g. its
  // log's frames kept and dropped, its high-water mark and newest commit.
  std::vector<std::pair<std::string, std::int64_t>> figures;
  bool sound() const { return corrupt.empty() && torn_tail == 0 && lost.empty(); }
};

class JournalStore {
 public:
  virtual ~JournalStore() = default;

  // Appends records and upserts summaries in ONE durable transaction: when
  // this returns ok, all of it survives a crash; otherwise none of it does.
  // REQUIRES: called from one thread at a time (the journal writer).
  virtual Status append(const std::vector<JournalRecord>& records,
                        const std::vector<WorkflowSummary>& summaries) = 0;

  // Reads (safe to call from another single thread than append()). A record
  // that fails its checks is a Status::corruption naming the workflow and
  // the record's offset.
  virtual Status load_workflow(const std::string& workflow_id,
                               std::vector<JournalRecord>* out) = 0;
  // One page of a workflow's records, seq >= from_seq in order: at most
  // max_records, and no more payload bytes than max_bytes (but always the
  // first record, however large).
  struct WorkflowPage {
    std::vector<JournalRecord> records;
    bool more = false;          // records follow the last one returned
    bool byte_limited = false;  // the page ended early for max_bytes
    std::uint64_t last_seq = 0; // the workflow's record count (0: unknown workflow)
  };
  virtual Status load_workflow_page(const std::string& workflow_id, std::uint64_t from_seq,
                                    std::size_t max_records, std::size_t max_bytes,
                                    WorkflowPage* page) = 0;
  // Calls `visit` once per unfinished workflow with all its records in order,
  // except those whose summary status is one of `lazy_statuses` and whose
  // wake_ms is known (>= 0): the engine loads those when it needs them. A
  // workflow with a record that fails its checks is not visited: `damaged`
  // hears of it (workflow id, the corruption) and the scan goes on; without
  // `damaged` the scan stops with the corruption.
  using DamageVisitor = std::function<void(const std::string&, const Status&)>;
  virtual Status load_unfinished(
      const std::function<void(std::vector<JournalRecord>&&)>& visit,
      const std::vector<std::string>& lazy_statuses = {},
      const DamageVisitor& damaged = nullptr) = 0;
  virtual Status load_summaries(std::vector<WorkflowSummary>* out) = 0;

  // Entities (engine/entity/): durable keyed state under the journal id
  // "kind:key", whose records are an entity_started, or a snapshot, and the
  // calls after it. append() handles two record types specially, in the same
  // transaction: an entity_started record lists the entity under its kind,
  // and an entity_snapshot record deletes the entity's records before it
  // (compaction, atomic with the snapshot).
  // The records of entity `id` from its latest snapshot (else all), in order;
  // none for an entity never written.
  virtual Status load_entity(const std::string& id, std::vector<JournalRecord>* out) = 0;
  // The keys of entities of `kind` in key order, at most `limit` after
  // skipping `offset`, and how many there are.
  virtual Status list_entities(const std::string& kind, std::size_t offset, std::size_t limit,
                               std::vector<std::string>* keys, std::size_t* total) = 0;

  // Documents (document_store.h) and fan-out items (fan_out_store.h) kept
  // beside the journal, in the same database.
  virtual DocumentStore& documents() = 0;
  virtual FanOutStore& fan_outs() = 0;
  // Runs `writes` (calls to documents()' and fan_outs()' write methods) as
  // ONE durable transaction: all of them survive a crash or none does. A
  // kind whose one change spans several rows (an event, its matches and the
  // claims they make) writes them here. REQUIRES: the writer thread.
  virtual Status in_one_transaction(const std::function<Status()>& writes) = 0;

  // Campaign drafts saved before they start (POST /v1/wizards). Durable when
  // put_draft returns ok. Thread-safe.
  virtual Status put_draft(const std::string& id, const std::string& body, TimeMs at) = 0;
  virtual Status get_draft(const std::string& id, std::string* body, bool* found) = 0;

  // Removes workflows (journal records and summary rows) in one transaction.
  // REQUIRES: called on the writer's thread (see Journal::run_on_writer).
  virtual Status delete_workflows(const std::vector<std::string>& workflow_ids) = 0;

  // Checks every record: checksum, type, and dense per-workflow sequence
  // starting with workflow_started. With `repair`, a torn tail (bad records
  // only in the last commit) is removed along with that whole commit.
  // REQUIRES: no concurrent append().
  virtual Status verify(bool repair, VerifyReport* report) = 0;

  // verify() of what may be torn: the records written after the last clean
  // shutdown (mark_clean_shutdown). Older records were fsynced by a writer
  // that then stopped cleanly; their checksums are still checked on every
  // read (recovery reads every unfinished workflow), and `orchestrator
  // journal verify` checks them all. What a start runs.
  virtual Status verify_since_clean_shutdown(bool repair, VerifyReport* report) {
    return verify(repair, report);
  }
  // Records that everything appended so far is durable and the writer has
  // stopped. REQUIRES: no concurrent append(); called by Journal's destructor.
  virtual void mark_clean_shutdown() {}
};

// What opening a store does when committed data is missing from it.
enum class OnJournalLoss {
  // Fails, changing nothing on disk; the error starts with kJournalLossError.
  refuse,
  // Logs the loss as an error, records that it was accepted and goes on with
  // what is left; later opens do not report it again.
  accept,
};

// The start of open_store()'s error when it refused a store that lost data.
inline constexpr const char* kJournalLossError = "journal lost committed data";

struct StoreOptions {
  // SQLite: once the write-ahead log holds this many pages (4 KiB each), a
  // thread of the store's own copies it back into the database
  // (wal_checkpointer.h). 0 leaves that to SQLite's automatic checkpoint,
  // inside the commit that crosses 10,000 pages.
  int wal_checkpoint_pages = 10'000;
  OnJournalLoss on_loss = OnJournalLoss::refuse;
};

// Opens a store from a URL ("sqlite:PATH"). Returns nullptr and sets *error
// on failure.
std::unique_ptr<JournalStore> open_store(const std::string& url, std::string* error,
                                         const StoreOptions& options = {});

// `orchestrator journal verify`: what opening the store at `url` finds
// missing (report->lost, ->figures) and every record (JournalStore::verify),
// changing nothing on disk; a store that lost data is reported, not refused.
// An error when the store cannot be read at all.
// REQUIRES: no process has the store open (a log being written may read as
// damaged).
Status verify_store(const std::string& url, VerifyReport* report);

}  // namespace orch::engine
