// The SQLite journal: records round-trip, corruption is detected and named,
// and the group-commit writer acknowledges nobody before its records are
// durable while batching many appends into one transaction.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <thread>

#include "engine/journal/journal.h"
#include "engine/store/sqlite_journal_store.h"
#include "tests/support/orchestrator_fixture.h"
#include "tests/support/sqlite_query.h"

namespace orch::testing {
namespace {

using engine::JournalRecord;
using engine::RecordType;

JournalRecord record(const std::string& wf, std::uint64_t seq, const std::string& payload) {
  return JournalRecord{wf, seq, seq == 1 ? RecordType::workflow_started : RecordType::step_scheduled,
                       1000 + static_cast<engine::TimeMs>(seq), payload};
}

engine::WorkflowSummary summary(const std::string& wf, const std::string& status) {
  return {wf, "run", "marketing_campaign", status, "research", 1, 2, "", "hash"};
}

TEST(JournalStoreTest, RecordsAndSummariesRoundTrip) {
  TempDir dir;
  std::string error;
  auto store = engine::SqliteJournalStore::open((dir.path / "j.db").string(), &error);
  ASSERT_TRUE(store) << error;
  ASSERT_TRUE(store->append({record("a", 1, "{}"), record("a", 2, "{\"x\":1}")},
                            {summary("a", "running")}).is_ok());
  ASSERT_TRUE(store->append({record("b", 1, "{}")}, {summary("b", "completed")}).is_ok());
  ASSERT_TRUE(store->append({record("a", 3, "{\"y\":2}")}, {summary("a", "awaiting_approval")}).is_ok());
  // A duplicate (workflow, seq) is refused and the whole transaction rolls back.
  EXPECT_FALSE(store->append({record("c", 1, "{}"), record("a", 3, "{}")}, {}).is_ok());

  std::vector<JournalRecord> a;
  ASSERT_TRUE(store->load_workflow("a", &a).is_ok());
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[2].payload, "{\"y\":2}");
  std::vector<JournalRecord> c;
  ASSERT_TRUE(store->load_workflow("c", &c).is_ok());
  EXPECT_TRUE(c.empty());

  std::vector<std::string> unfinished;
  ASSERT_TRUE(store->load_unfinished([&](std::vector<JournalRecord>&& rs) {
    unfinished.push_back(rs.front().workflow_id);
    EXPECT_EQ(rs.size(), 3u);
  }).is_ok());
  EXPECT_EQ(unfinished, std::vector<std::string>{"a"});
  std::vector<engine::WorkflowSummary> rows;
  ASSERT_TRUE(store->load_summaries(&rows).is_ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].status, "awaiting_approval");
}

// A row the engine wrote before is updated in place (its changing columns
// only, as the upsert does); a row marked stored that is not there is
// inserted whole.
TEST(JournalStoreTest, StoredSummariesAreUpdatedAndAMissingOneIsInserted) {
  TempDir dir;
  std::string error;
  auto store = engine::SqliteJournalStore::open((dir.path / "j.db").string(), &error);
  ASSERT_TRUE(store) << error;
  engine::WorkflowSummary first{"a", "run-a", "marketing_campaign", "running", "research",
                                1, 1, "key-a", "hash-a", 0};
  ASSERT_TRUE(store->append({record("a", 1, "{}")}, {first}).is_ok());
  engine::WorkflowSummary later{"a", "other-run", "other", "awaiting_approval", "review",
                                7, 5, "other-key", "other-hash", 99, /*stored=*/true};
  engine::WorkflowSummary unknown{"z", "run-z", "marketing_campaign", "completed", "analytics",
                                  3, 4, "", "hash-z", 0, /*stored=*/true};
  ASSERT_TRUE(store->append({record("a", 2, "{}"), record("z", 1, "{}")}, {later, unknown}).is_ok());

  std::vector<engine::WorkflowSummary> rows;
  ASSERT_TRUE(store->load_summaries(&rows).is_ok());
  ASSERT_EQ(rows.size(), 2u);
  const engine::WorkflowSummary& a = rows[0].workflow_id == "a" ? rows[0] : rows[1];
  const engine::WorkflowSummary& z = rows[0].workflow_id == "z" ? rows[0] : rows[1];
  EXPECT_EQ(a.status, "awaiting_approval");
  EXPECT_EQ(a.phase, "review");
  EXPECT_EQ(a.updated_ms, 5);
  EXPECT_EQ(a.wake_ms, 99);
  EXPECT_EQ(a.run_id, "run-a");  // identity, creation, key and hash stay
  EXPECT_EQ(a.definition, "marketing_campaign");
  EXPECT_EQ(a.created_ms, 1);
  EXPECT_EQ(a.idempotency_key, "key-a");
  EXPECT_EQ(a.input_hash, "hash-a");
  EXPECT_EQ(z.workflow_id, "z");
  EXPECT_EQ(z.run_id, "run-z");
  EXPECT_EQ(z.status, "completed");
  EXPECT_EQ(z.phase, "analytics");
  EXPECT_EQ(z.input_hash, "hash-z");
}

// The summaries keep no index on status (nothing looks a workflow up by it);
// a store made by an older build loses its index when opened, and its rows
// read as before.
TEST(JournalStoreTest, AStoreFromBeforeLosesItsStatusIndexAndKeepsItsRows) {
  TempDir dir;
  const std::string path = (dir.path / "j.db").string();
  std::string error;
  {
    auto store = engine::SqliteJournalStore::open(path, &error);
    ASSERT_TRUE(store) << error;
    ASSERT_TRUE(store->append({record("a", 1, "{}")}, {summary("a", "running")}).is_ok());
  }
  auto indexes = [&] {
    return query_column(path, "SELECT name FROM sqlite_master WHERE type='index' AND "
                              "tbl_name='workflows' AND sql IS NOT NULL");
  };
  EXPECT_TRUE(indexes().empty());
  {  // what older builds created
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE INDEX workflows_by_status ON workflows(status)", nullptr,
                           nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  EXPECT_EQ(indexes(), std::vector<std::string>{"workflows_by_status"});
  auto store = engine::SqliteJournalStore::open(path, &error);
  ASSERT_TRUE(store) << error;
  EXPECT_TRUE(indexes().empty());
  engine::WorkflowSummary later = summary("a", "completed");
  later.stored = true;
  ASSERT_TRUE(store->append({record("a", 2, "{}")}, {later}).is_ok());
  std::vector<engine::WorkflowSummary> rows;
  ASSERT_TRUE(store->load_summaries(&rows).is_ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "completed");
}

// A commit's records go in several rows per INSERT statement (32 at a time):
// across those chunks they keep the order they were appended in (offsets),
// one batch number, their checksums, and the commit stays all or nothing.
TEST(JournalStoreTest, ACommitOfManyRecordsKeepsItsOrderAndIsAllOrNothing) {
  TempDir dir;
  const std::string path = (dir.path / "j.db").string();
  std::string error;
  auto store = engine::SqliteJournalStore::open(path, &error);
  ASSERT_TRUE(store) << error;
  // 75 records = 32 + 32 + 11, three workflows interleaved.
  const std::vector<std::string> wfs{"wf-a", "wf-b", "wf-c"};
  std::vector<JournalRecord> many;
  std::vector<std::string> appended;  // "wf/seq" in append order
  for (std::uint64_t i = 0; i < 75; ++i) {
    const std::string& wf = wfs[i % 3];
    const std::uint64_t seq = i / 3 + 1;
    many.push_back(record(wf, seq, "{\"i\":" + std::to_string(i) + "}"));
    appended.push_back(wf + "/" + std::to_string(seq));
  }
  ASSERT_TRUE(store->append(many, {summary("wf-a", "running")}).is_ok());
  ASSERT_TRUE(store->append({record("wf-d", 1, "{}")}, {}).is_ok());

  for (std::size_t w = 0; w < wfs.size(); ++w) {
    std::vector<JournalRecord> got;
    ASSERT_TRUE(store->load_workflow(wfs[w], &got).is_ok());
    ASSERT_EQ(got.size(), 25u);
    for (std::size_t k = 0; k < got.size(); ++k) {
      EXPECT_EQ(got[k].seq, k + 1);
      EXPECT_EQ(got[k].payload, "{\"i\":" + std::to_string(k * 3 + w) + "}");
    }
  }
  // Offsets 1..75 in append order, all in one batch.
  std::vector<std::string> expected;
  for (std::size_t i = 0; i < appended.size(); ++i)
    expected.push_back(std::to_string(i + 1) + " " + appended[i]);
  EXPECT_EQ(query_column(path, "SELECT offset || ' ' || workflow_id || '/' || seq FROM journal "
                               "ORDER BY offset LIMIT 75"),
            expected);
  EXPECT_EQ(query_column(path, "SELECT count(DISTINCT batch) FROM journal WHERE offset <= 75"),
            std::vector<std::string>{"1"});

  // A duplicate (workflow, seq) in the second chunk of 40 rolls back the
  // whole commit, the first chunk's 32 records with it.
  std::vector<JournalRecord> failing;
  for (std::uint64_t i = 0; i < 40; ++i) failing.push_back(record("wf-e", i + 1, "{}"));
  failing[35] = record("wf-a", 7, "{\"dup\":true}");
  EXPECT_FALSE(store->append(failing, {summary("wf-e", "running")}).is_ok());
  std::vector<JournalRecord> e;
  ASSERT_TRUE(store->load_workflow("wf-e", &e).is_ok());
  EXPECT_TRUE(e.empty());
  std::vector<engine::WorkflowSummary> rows;
  ASSERT_TRUE(store->load_summaries(&rows).is_ok());
  EXPECT_EQ(rows.size(), 1u);  // wf-a's only

  // And the store goes on: the next commit lands, and every checksum holds.
  ASSERT_TRUE(store->append({record("wf-e", 1, "{}")}, {}).is_ok());
  engine::VerifyReport report;
  ASSERT_TRUE(store->verify(false, &report).is_ok());
  EXPECT_TRUE(report.sound()) << report.corrupt;
  EXPECT_EQ(report.records, 77u);
}

TEST(JournalStoreTest, ChecksumMismatchNamesWorkflowAndOffset) {
  TempDir dir;
  const std::string path = (dir.path / "j.db").string();
  std::string error;
  {
    auto store = engine::SqliteJournalStore::open(path, &error);
    ASSERT_TRUE(store) << error;
    ASSERT_TRUE(store->append({record("wf-x", 1, "{\"a\":1}"), record("wf-x", 2, "{\"a\":2}")},
                              {summary("wf-x", "running")}).is_ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE journal SET payload='{\"a\":3}' WHERE seq=2", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = engine::SqliteJournalStore::open(path, &error);
  ASSERT_TRUE(store) << error;
  std::vector<JournalRecord> rs;
  orch::Status s = store->load_workflow("wf-x", &rs);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("wf-x"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("offset 2"), std::string::npos) << s.message();
  EXPECT_FALSE(store->load_unfinished([](std::vector<JournalRecord>&&) {}).is_ok());
}

// A store and the io_context thread the journal posts its callbacks to.
class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    store = engine::SqliteJournalStore::open((dir.path / "j.db").string(), &error);
    ASSERT_TRUE(store) << error;
  }
  void TearDown() override {
    guard.reset();
    io.stop();
    io_thread.join();
  }

  TempDir dir;
  std::unique_ptr<engine::SqliteJournalStore> store;
  boost::asio::io_context io{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard =
      boost::asio::make_work_guard(io);
  std::thread io_thread{[this] { io.run(); }};
};

TEST_F(JournalTest, GroupCommitBatchesAndAcknowledgesOnlyDurableRecords) {
  constexpr int kWorkflows = 400;
  std::atomic<int> acknowledged{0};
  std::atomic<int> missing{0};
  {
    engine::Journal journal(*store, io);
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t)
      writers.emplace_back([&, t] {
        for (int i = t; i < kWorkflows; i += 4) {
          const std::string wf = "wf-" + std::to_string(i);
          journal.append({record(wf, 1, "{}"), record(wf, 2, "{}")}, {summary(wf, "running")},
                         [&, wf](const orch::Status& s) {
                           EXPECT_TRUE(s.is_ok());
                           std::vector<JournalRecord> rs;
                           // Acknowledged means readable from the store.
                           if (!store->load_workflow(wf, &rs).is_ok() || rs.size() != 2) ++missing;
                           ++acknowledged;
                         });
        }
      });
    for (auto& w : writers) w.join();
    while (acknowledged.load() < kWorkflows) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const engine::JournalStats stats = journal.stats();
    EXPECT_EQ(stats.records, 2u * kWorkflows);
    EXPECT_EQ(stats.appends, static_cast<std::uint64_t>(kWorkflows));
    EXPECT_LT(stats.commits, stats.appends) << "no two appends shared a commit";
  }
  EXPECT_EQ(missing.load(), 0);
}

TEST(JournalStoreTest, WorkflowsWaitingWithAKnownWakeUpAreLeftOnDisk) {
  TempDir dir;
  std::string error;
  auto store = engine::SqliteJournalStore::open((dir.path / "j.db").string(), &error);
  ASSERT_TRUE(store) << error;
  auto row = [](const std::string& wf, const std::string& status, engine::TimeMs wake) {
    engine::WorkflowSummary s = summary(wf, status);
    s.wake_ms = wake;
    return s;
  };
  ASSERT_TRUE(store->append({record("run", 1, "{}"), record("wait", 1, "{}"),
                             record("wait-deadline", 1, "{}"), record("wait-unknown", 1, "{}"),
                             record("held", 1, "{}"), record("done", 1, "{}")},
                            {row("run", "running", 0), row("wait", "awaiting_approval", 0),
                             row("wait-deadline", "awaiting_approval", 5000),
                             row("wait-unknown", "awaiting_approval", -1), row("held", "paused", 0),
                             row("done", "completed", 0)})
                  .is_ok());
  auto loaded = [&](const std::vector<std::string>& lazy) {
    std::vector<std::string> ids;
    EXPECT_TRUE(store->load_unfinished(
                         [&](std::vector<JournalRecord>&& rs) { ids.push_back(rs.front().workflow_id); },
                         lazy)
                    .is_ok());
    return ids;
  };
  EXPECT_EQ(loaded({}), (std::vector<std::string>{"held", "run", "wait", "wait-deadline",
                                                  "wait-unknown"}));
  EXPECT_EQ(loaded({"awaiting_approval", "paused"}),
            (std::vector<std::string>{"run", "wait-unknown"}));
  std::vector<engine::WorkflowSummary> rows;
  ASSERT_TRUE(store->load_summaries(&rows).is_ok());
  for (const auto& r : rows) {
    if (r.workflow_id == "wait-deadline") {
      EXPECT_EQ(r.wake_ms, 5000);
    }
  }
}

TEST_F(JournalTest, TheLastSummaryOfAWorkflowInOneCommitWins) {
  {
    engine::Journal journal(*store, io);
    // Hold the writer so that both appends land in the same commit.
    std::atomic<bool> release{false};
    journal.run_on_writer(
        [&](engine::JournalStore&) {
          while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
          return orch::Status::ok();
        },
        [](const orch::Status&) {});
    engine::WorkflowSummary first = summary("wf", "running");
    first.wake_ms = 0;
    engine::WorkflowSummary second = summary("wf", "awaiting_approval");
    second.wake_ms = 7777;
    second.phase = "review";
    std::atomic<int> done{0};
    journal.append({record("wf", 1, "{}")}, {first}, [&](const orch::Status&) { ++done; });
    journal.append({record("wf", 2, "{}")}, {second}, [&](const orch::Status&) { ++done; });
    release = true;
    while (done.load() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(journal.stats().commits, 1u);
  }
  std::vector<engine::WorkflowSummary> rows;
  ASSERT_TRUE(store->load_summaries(&rows).is_ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "awaiting_approval");
  EXPECT_EQ(rows[0].phase, "review");
  EXPECT_EQ(rows[0].wake_ms, 7777);
}

}  // namespace
}  // namespace orch::testing
