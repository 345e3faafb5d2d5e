// Committed data a SQLite journal lost is detected (journal_high_water.h,
// sqlite_store_check.h). A store of 100 workflows is written through the
// store API, every commit acknowledged, and its files are copied as a crash
// leaves them; then the copy is damaged: a byte flipped in the middle of the
// log or in its header, the log cut in half, the database emptied with and
// without its log, the database cut short. A start refuses each and changes nothing on disk,
// verify_store() reports what SQLite keeps and drops, and accepting the loss
// lets the store go on. A torn last commit (one the crash kept from being
// acknowledged) is still only a warning, and a store whose log was
// checkpointed and restarted, or holds frames of a transaction that never
// committed, or whose newest workflows were deleted, or whose torn tail was
// dropped, raises no alarm.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/store/journal_high_water.h"
#include "engine/store/sqlite_journal_store.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

namespace fs = std::filesystem;

constexpr int kWorkflows = 100;
constexpr int kRecordsEach = 6;
// Commit c starts workflow c and adds the next record of the five before it.
constexpr int kCommits = kWorkflows + kRecordsEach - 1;
constexpr std::size_t kPayloadBytes = 600;  // about seven log frames a commit
constexpr std::uintmax_t kWalHeader = 32;
constexpr std::uintmax_t kFrameHeader = 24;

const char* kDb = "journal.db";
const char* kWal = "journal.db-wal";
const char* kMark = "journal.db.hwm";

// Commit `c` of the standard store: records of every workflow in flight, and
// their summaries.
Status append_commit(engine::JournalStore& store, int c) {
  std::vector<engine::JournalRecord> records;
  std::vector<engine::WorkflowSummary> summaries;
  for (int w = std::max(0, c - kRecordsEach + 1); w <= std::min(c, kWorkflows - 1); ++w) {
    engine::JournalRecord r;
    r.workflow_id = "wf-" + std::to_string(w);
    r.seq = static_cast<std::uint64_t>(c - w + 1);
    r.type = r.seq == 1 ? engine::RecordType::workflow_started : engine::RecordType::step_scheduled;
    r.time_ms = c;
    r.payload = "{\"pad\":\"" + std::string(kPayloadBytes, static_cast<char>('a' + w % 26)) + "\"}";
    summaries.push_back({r.workflow_id, "run", "marketing_campaign", "running", "research", 1, c,
                         "", "hash", 0, r.seq > 1});
    records.push_back(std::move(r));
  }
  return store.append(records, summaries);
}

// One new workflow's first record, in a commit of its own.
Status append_workflow(engine::JournalStore& store, const std::string& id) {
  engine::JournalRecord r;
  r.workflow_id = id;
  r.seq = 1;
  r.type = engine::RecordType::workflow_started;
  r.payload = "{}";
  return store.append(
      {r}, {{id, "run", "marketing_campaign", "running", "research", 1, 1, "", "hash", 0, false}});
}

// The files as a crash leaves them, copied while the store is open: the log
// first (a checkpoint running meanwhile only copies pages the log still
// holds into the database), then the database, then the mark (never ahead
// of what was copied before it).
void crash_copy(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  for (const char* name : {kWal, kDb, kMark})
    if (fs::exists(from / name))
      fs::copy_file(from / name, to / name, fs::copy_options::overwrite_existing);
}

std::string db_path(const fs::path& dir) { return (dir / kDb).string(); }

std::uintmax_t frame_bytes(const fs::path& dir) {
  const std::string header = read_file(dir / kDb).substr(0, 18);
  const int size =
      static_cast<unsigned char>(header[16]) << 8 | static_cast<unsigned char>(header[17]);
  return kFrameHeader + static_cast<std::uintmax_t>(size == 1 ? 65536 : size);
}

void flip_byte(const fs::path& file, std::uintmax_t at) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(at));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(at));
  f.put(static_cast<char>(c ^ 0x10));
  ASSERT_TRUE(f.good()) << file;
}

std::int64_t figure(const engine::VerifyReport& report, const std::string& name) {
  for (const auto& [n, v] : report.figures)
    if (n == name) return v;
  ADD_FAILURE() << "no figure " << name;
  return -2;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

// What verify_store() finds; the test fails if it cannot read the store.
engine::VerifyReport verified(const fs::path& dir) {
  engine::VerifyReport report;
  const Status s = engine::verify_store("sqlite:" + db_path(dir), &report);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return report;
}

// Opening with the default options refuses the store; returns the error.
std::string refused(const fs::path& dir) {
  std::string error;
  auto store = engine::SqliteJournalStore::open(db_path(dir), &error);
  EXPECT_EQ(store, nullptr) << "opened a store that lost committed data";
  EXPECT_EQ(error.rfind(engine::kJournalLossError, 0), 0u) << error;
  return error;
}

// Opens, verifies and closes the store, expecting nothing missing.
engine::VerifyReport opened_sound(const fs::path& dir, const std::string& what) {
  std::string error;
  auto store = engine::SqliteJournalStore::open(db_path(dir), &error);
  engine::VerifyReport report;
  EXPECT_NE(store, nullptr) << what << ": " << error;
  if (!store) return report;
  EXPECT_TRUE(store->verify(/*repair=*/false, &report).is_ok()) << what;
  EXPECT_TRUE(report.lost.empty()) << what << ": " << joined(report.lost);
  EXPECT_TRUE(report.sound()) << what << ": " << report.corrupt;
  return report;
}

class JournalLossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    auto store = engine::SqliteJournalStore::open(db_path(live_.path), &error);
    ASSERT_NE(store, nullptr) << error;
    for (int c = 0; c < kCommits; ++c) {
      ASSERT_TRUE(append_commit(*store, c).is_ok());
      // The mark as a crash inside the last commit, before it was
      // acknowledged, leaves it.
      if (c == kCommits - 2) fs::copy_file(live_.path / kMark, mark_before_last_.path / kMark);
    }
    crash_copy(live_.path, snapshot_.path);
    wal_bytes_ = fs::file_size(snapshot_.path / kWal);
    frame_ = frame_bytes(snapshot_.path);
    frames_ = (wal_bytes_ - kWalHeader) / frame_;
    ASSERT_GT(frames_, 4u * kCommits) << "the log holds every commit";
  }

  fs::path trial(const std::string& name) {
    const fs::path dir = work_.path / name;
    crash_copy(snapshot_.path, dir);
    return dir;
  }

  std::uintmax_t frame_offset(std::uintmax_t frame) const {
    return kWalHeader + (frame - 1) * frame_;
  }

  TempDir live_, mark_before_last_, snapshot_, work_;
  std::uintmax_t wal_bytes_ = 0, frame_ = 0, frames_ = 0;
};

TEST_F(JournalLossTest, AByteFlippedInTheMiddleOfTheLogStopsTheStartAndChangesNothing) {
  const fs::path dir = trial("flip");
  const std::uintmax_t at = frame_offset(frames_ / 2) + kFrameHeader + 2000;
  flip_byte(dir / kWal, at);
  const std::string wal_before = read_file(dir / kWal);
  const std::string db_before = read_file(dir / kDb);

  const std::string error = refused(dir);
  EXPECT_NE(error.find("high-water mark says commit " + std::to_string(kCommits)),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("bad frame at byte " + std::to_string(frame_offset(frames_ / 2))),
            std::string::npos)
      << error;
  EXPECT_EQ(read_file(dir / kWal), wal_before) << "the refused store's log was changed";
  EXPECT_EQ(read_file(dir / kDb), db_before) << "the refused store's database was changed";

  api::OrchestratorApp app(test_config(dir));
  const std::string start = app.start();
  EXPECT_EQ(start.rfind(engine::kJournalLossError, 0), 0u) << start;
  EXPECT_NE(start.find("journal accept-loss"), std::string::npos) << start;

  const engine::VerifyReport report = verified(dir);
  EXPECT_FALSE(report.sound());
  ASSERT_FALSE(report.lost.empty());
  EXPECT_EQ(figure(report, "hwm_commit"), kCommits);
  EXPECT_LT(figure(report, "store_commit"), kCommits);
  EXPECT_GT(figure(report, "wal_durable_commits_dropped"), 0);
  EXPECT_EQ(figure(report, "wal_frames"), static_cast<std::int64_t>(frames_));
  EXPECT_EQ(figure(report, "wal_first_bad_byte"),
            static_cast<std::int64_t>(frame_offset(frames_ / 2)));
  EXPECT_EQ(figure(report, "wal_frames_replayed") + figure(report, "wal_frames_dropped"),
            static_cast<std::int64_t>(frames_));
  EXPECT_LT(report.workflows, static_cast<std::uint64_t>(kWorkflows));
  EXPECT_EQ(read_file(dir / kWal), wal_before) << "verify changed the log";
  std::printf(
      "flip at WAL byte %ju of %ju: SQLite keeps %llu of %d workflows, commit %lld of %d; "
      "%lld of %ju frames dropped, %lld of them durable commits\n",
      at, wal_bytes_, static_cast<unsigned long long>(report.workflows), kWorkflows,
      static_cast<long long>(figure(report, "store_commit")), kCommits,
      static_cast<long long>(figure(report, "wal_frames_dropped")), frames_,
      static_cast<long long>(figure(report, "wal_durable_commits_dropped")));
}

TEST_F(JournalLossTest, TheLogShowsAFlippedByteEvenWithoutTheMark) {
  const fs::path dir = trial("flip-no-mark");
  fs::remove(dir / kMark);
  flip_byte(dir / kWal, frame_offset(frames_ / 2) + kFrameHeader + 2000);
  const std::string error = refused(dir);
  EXPECT_NE(error.find("commits that later frames show were durable"), std::string::npos) << error;
  EXPECT_EQ(error.find("high-water mark says"), std::string::npos) << error;
}

TEST_F(JournalLossTest, AcceptingTheLossLetsTheStoreGoOnAndIsNotReportedAgain) {
  const fs::path dir = trial("accepted");
  flip_byte(dir / kWal, frame_offset(frames_ / 2) + kFrameHeader + 2000);
  const std::uint64_t kept = verified(dir).workflows;
  {
    std::string error;
    engine::StoreOptions options;
    options.on_loss = engine::OnJournalLoss::accept;
    auto store = engine::SqliteJournalStore::open(db_path(dir), &error, options);
    ASSERT_NE(store, nullptr) << error;
    engine::VerifyReport report;
    ASSERT_TRUE(store->verify(false, &report).is_ok());
    EXPECT_TRUE(report.sound()) << joined(report.lost) << report.corrupt;
    EXPECT_NE(joined(report.warnings).find("accepted: "), std::string::npos);
    EXPECT_EQ(report.workflows, kept);
    EXPECT_EQ(fs::file_size(dir / kWal), 0u) << "the dropped frames are still in the log";
    // It goes on, numbering new commits past the mark.
    ASSERT_TRUE(append_workflow(*store, "wf-after").is_ok());
  }
  const engine::VerifyReport report = opened_sound(dir, "after accepting");
  EXPECT_EQ(report.workflows, kept + 1);
  EXPECT_EQ(figure(report, "store_commit"), kCommits + 1);
  EXPECT_EQ(figure(report, "hwm_commit"), kCommits + 1);
}

TEST_F(JournalLossTest, AByteFlippedInTheLogHeaderStopsTheStart) {
  // The header's checksum fails: SQLite ignores every frame of the log.
  const fs::path dir = trial("header");
  flip_byte(dir / kWal, 13);  // the checkpoint sequence number
  const std::string error = refused(dir);
  EXPECT_NE(error.find("high-water mark says commit " + std::to_string(kCommits)),
            std::string::npos)
      << error;
  fs::remove(dir / kMark);
  EXPECT_NE(refused(dir).find("bad frame at byte 32 (frame 1 of"), std::string::npos);
  const engine::VerifyReport report = verified(dir);
  EXPECT_EQ(report.workflows, 0u);
  EXPECT_EQ(figure(report, "wal_frames_replayed"), 0);
  // Every commit but the last has a successor (the schema's commits too).
  EXPECT_GE(figure(report, "wal_durable_commits_dropped"), kCommits - 1);
}

TEST_F(JournalLossTest, TheLogCutInHalfStopsTheStart) {
  const fs::path dir = trial("half");
  fs::resize_file(dir / kWal, wal_bytes_ / 2);
  const std::string error = refused(dir);
  EXPECT_NE(error.find("high-water mark says commit " + std::to_string(kCommits)),
            std::string::npos)
      << error;
  const engine::VerifyReport report = verified(dir);
  ASSERT_FALSE(report.lost.empty());
  EXPECT_LT(report.workflows, static_cast<std::uint64_t>(kWorkflows));
  // Nothing in a cut log shows what followed: the mark alone measures it.
  EXPECT_EQ(figure(report, "wal_durable_commits_dropped"), 0);
  std::printf("log cut to %ju of %ju bytes: SQLite keeps %llu of %d workflows, commit %lld of %d\n",
              wal_bytes_ / 2, wal_bytes_, static_cast<unsigned long long>(report.workflows),
              kWorkflows, static_cast<long long>(figure(report, "store_commit")), kCommits);
}

TEST_F(JournalLossTest, WithoutTheMarkACutLogReadsAsACrash) {
  // The limit stated in the README: a log cut at a commit boundary, with the
  // mark gone too, looks like a crash that came earlier.
  const fs::path dir = trial("half-no-mark");
  fs::remove(dir / kMark);
  fs::resize_file(dir / kWal, wal_bytes_ / 2);
  const engine::VerifyReport report = opened_sound(dir, "cut log without mark");
  EXPECT_LT(report.workflows, static_cast<std::uint64_t>(kWorkflows));
  EXPECT_NE(joined(report.warnings).find("no high-water mark"), std::string::npos);
}

TEST_F(JournalLossTest, AnEmptyDatabaseStopsTheStartWithOrWithoutItsLog) {
  for (const bool keep_wal : {true, false}) {
    const fs::path dir = trial(keep_wal ? "empty-with-log" : "empty-without-log");
    fs::resize_file(dir / kDb, 0);
    if (!keep_wal) fs::remove(dir / kWal);
    const std::string error = refused(dir);
    EXPECT_NE(error.find("high-water mark says commit " + std::to_string(kCommits)),
              std::string::npos)
        << error;
    // SQLite deletes the log beside an empty database: it must not have run.
    EXPECT_EQ(fs::exists(dir / kWal), keep_wal);
    if (keep_wal) {
      EXPECT_EQ(fs::file_size(dir / kWal), wal_bytes_);
    }
    const engine::VerifyReport report = verified(dir);
    EXPECT_FALSE(report.lost.empty());
    EXPECT_EQ(figure(report, "db_bytes"), 0);
    EXPECT_EQ(figure(report, "store_commit"), 0);
    EXPECT_EQ(fs::exists(dir / kWal), keep_wal) << "verify deleted the log";
  }
  // The log alone shows it, without the mark.
  const fs::path dir = trial("empty-no-mark");
  fs::resize_file(dir / kDb, 0);
  fs::remove(dir / kMark);
  EXPECT_NE(refused(dir).find("database file is empty but its log holds"), std::string::npos);
}

TEST_F(JournalLossTest, ADatabaseShorterThanItDescribesStopsTheStart) {
  // A store whose log was copied into the database and removed (a clean
  // close), then cut: its header still counts every page.
  const fs::path dir = trial("short-db");
  {
    std::string error;
    auto store = engine::SqliteJournalStore::open(db_path(dir), &error);
    ASSERT_NE(store, nullptr) << error;
  }
  ASSERT_FALSE(fs::exists(dir / kWal));
  const std::uintmax_t db_bytes = fs::file_size(dir / kDb);
  fs::resize_file(dir / kDb, db_bytes / 2);
  fs::remove(dir / kMark);  // the database's own header shows it
  EXPECT_NE(refused(dir).find("of the others are not in the log"), std::string::npos);
  const engine::VerifyReport report = verified(dir);
  EXPECT_GT(figure(report, "db_pages_missing"), 0);
  EXPECT_EQ(figure(report, "db_pages_expected") * static_cast<std::int64_t>(frame_ - kFrameHeader),
            static_cast<std::int64_t>(db_bytes));
}

TEST_F(JournalLossTest, ATornLastCommitIsStillOnlyAWarning) {
  // The crash came inside the last commit: its frames were being written,
  // so it was never acknowledged and the mark does not count it.
  const fs::path dir = trial("torn");
  fs::copy_file(mark_before_last_.path / kMark, dir / kMark, fs::copy_options::overwrite_existing);
  fs::resize_file(dir / kWal, wal_bytes_ - frame_ / 2);
  const engine::VerifyReport report = opened_sound(dir, "torn last commit");
  EXPECT_EQ(report.workflows, static_cast<std::uint64_t>(kWorkflows));
  EXPECT_EQ(figure(report, "store_commit"), kCommits - 1);
  EXPECT_GT(figure(report, "wal_frames_dropped"), 0);
  EXPECT_NE(joined(report.warnings).find("unfinished or torn commit"), std::string::npos)
      << joined(report.warnings);
  {
    // What a start runs next finds nothing wrong either.
    std::string error;
    auto store = engine::SqliteJournalStore::open(db_path(dir), &error);
    ASSERT_NE(store, nullptr) << error;
    engine::VerifyReport start;
    ASSERT_TRUE(store->verify_since_clean_shutdown(/*repair=*/true, &start).is_ok());
    EXPECT_EQ(start.corrupt, "");
    EXPECT_TRUE(start.lost.empty()) << joined(start.lost);
  }

  // The same cut of the acknowledged last commit is a loss.
  const fs::path acknowledged = trial("torn-acknowledged");
  fs::resize_file(acknowledged / kWal, wal_bytes_ - frame_ / 2);
  EXPECT_NE(refused(acknowledged).find("1 commit is missing"), std::string::npos);
}

TEST_F(JournalLossTest, FramesLeftByATransactionThatNeverCommittedRaiseNoAlarm) {
  // A transaction larger than SQLite's page cache writes frames to the log
  // before it commits; a crash then leaves them after the last commit, of
  // the same salt and chained to one another. The next commit, in the same
  // log, overwrites the first of them and leaves the rest.
  const fs::path crashed = work_.path / "crashed";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path(live_.path).c_str(), &db), SQLITE_OK);
    // A log that started over once keeps its salt when it is next emptied
    // by recovery (SQLite draws a new one only for a log never restarted).
    ASSERT_EQ(sqlite3_exec(db,
                           "INSERT INTO drafts VALUES('a', '{}', 0);"
                           "PRAGMA wal_checkpoint(PASSIVE);"
                           "INSERT INTO drafts VALUES('b', '{}', 0);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    ASSERT_NE(read_file(live_.path / kWal).substr(12, 4), std::string(4, '\0'))
        << "the log never started over";
    ASSERT_EQ(sqlite3_exec(db,
                           "PRAGMA cache_size=8; BEGIN IMMEDIATE; "
                           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n "
                           "WHERE i < 400) INSERT INTO journal(workflow_id, seq, type, time_ms, "
                           "payload, checksum, batch) SELECT 'big-' || i, 1, 1, 0, "
                           "printf('%.2000c', 'x'), 0, 999 FROM n;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    ASSERT_GT(fs::file_size(live_.path / kWal), 20 * frame_) << "nothing spilled";
    crash_copy(live_.path, crashed);
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  const fs::path again = work_.path / "crashed-again";
  {
    std::string error;
    auto store = engine::SqliteJournalStore::open(db_path(crashed), &error);
    ASSERT_NE(store, nullptr) << error;
    engine::VerifyReport report;
    ASSERT_TRUE(store->verify(/*repair=*/false, &report).is_ok());
    EXPECT_TRUE(report.sound()) << joined(report.lost);
    EXPECT_GT(figure(report, "wal_frames_dropped"), 20);
    EXPECT_EQ(figure(report, "store_commit"), kCommits);
    ASSERT_TRUE(append_workflow(*store, "wf-after-crash").is_ok());
    crash_copy(crashed, again);
  }
  const engine::VerifyReport report = opened_sound(again, "uncommitted frames overwritten in part");
  EXPECT_GT(figure(report, "wal_frames_dropped"), 20) << "no frames of the same salt were left";
  EXPECT_EQ(figure(report, "wal_durable_commits_dropped"), 0);
  EXPECT_EQ(figure(report, "store_commit"), kCommits + 1);
  EXPECT_EQ(report.workflows, static_cast<std::uint64_t>(kWorkflows + 1));
}

TEST(JournalLossAppTest, TheOrchestratorRefusesALogThatLostCommitsUntilTheLossIsAccepted) {
  constexpr int kCampaigns = 6;
  TempDir live, crash;
  {
    api::OrchestratorApp app(test_config(live.path));
    ASSERT_EQ(app.start(), "");
    ApiClient client(app.base_url());
    for (int i = 0; i < kCampaigns; ++i) {
      HttpReply r = client.post("/v1/campaigns", sample_campaign("loss " + std::to_string(i)));
      ASSERT_EQ(r.status, 201);
      client.wait_for_status(r.body["workflow_id"], "awaiting_approval");
    }
    app.wait_until_durable();
    crash_copy(live.path, crash.path);
  }
  const std::uintmax_t frame = frame_bytes(crash.path);
  const std::uintmax_t frames = (fs::file_size(crash.path / kWal) - kWalHeader) / frame;
  ASSERT_GT(frames, 8u);
  flip_byte(crash.path / kWal, kWalHeader + (frames / 2 - 1) * frame + kFrameHeader + 100);
  {
    api::OrchestratorApp app(test_config(crash.path));
    const std::string error = app.start();
    EXPECT_EQ(error.rfind(engine::kJournalLossError, 0), 0u) << error;
    EXPECT_NE(error.find("journal verify"), std::string::npos) << error;
    EXPECT_NE(error.find("journal accept-loss"), std::string::npos) << error;
  }
  {
    std::string error;
    engine::StoreOptions options;
    options.on_loss = engine::OnJournalLoss::accept;
    ASSERT_NE(engine::SqliteJournalStore::open(db_path(crash.path), &error, options), nullptr)
        << error;
  }
  api::OrchestratorApp app(test_config(crash.path));
  ASSERT_EQ(app.start(), "");
  EXPECT_LT(app.recovered_workflows(), static_cast<std::size_t>(kCampaigns));
}

TEST(JournalLossCleanTest, CheckpointsRestartsDeletesAndRepairsRaiseNoAlarm) {
  TempDir live, copies;
  engine::StoreOptions options;
  options.wal_checkpoint_pages = 16;  // the log restarts every few commits
  std::string error;
  auto store = engine::SqliteJournalStore::open(db_path(live.path), &error, options);
  ASSERT_NE(store, nullptr) << error;
  std::vector<fs::path> crashes;
  for (int c = 0; c < kCommits; ++c) {
    ASSERT_TRUE(append_commit(*store, c).is_ok());
    if (c % 5 == 4) {
      crashes.push_back(copies.path / ("after-" + std::to_string(c)));
      crash_copy(live.path, crashes.back());
    }
  }
  EXPECT_GT(store->checkpoint_stats().restarts, 3u);
  bool saw_stale_frames = false;
  for (const fs::path& crash : crashes) {
    const engine::VerifyReport report = opened_sound(crash, crash.filename().string());
    EXPECT_GE(figure(report, "store_commit"), figure(report, "hwm_commit")) << crash;
    EXPECT_GT(figure(report, "hwm_commit"), 0) << crash;
    saw_stale_frames |= figure(report, "wal_frames_stale") > 0;
  }
  EXPECT_TRUE(saw_stale_frames) << "no copy had a restarted log";
  store.reset();
  opened_sound(live.path, "after a clean close");

  // The newest workflows deleted (retention): the store still accounts for
  // their commits.
  store = engine::SqliteJournalStore::open(db_path(live.path), &error, options);
  ASSERT_NE(store, nullptr) << error;
  std::vector<std::string> newest;
  for (int w = kWorkflows - 10; w < kWorkflows; ++w) newest.push_back("wf-" + std::to_string(w));
  ASSERT_TRUE(store->delete_workflows(newest).is_ok());
  store.reset();
  opened_sound(live.path, "after deleting the newest workflows");

  // A bad record in the last commit, dropped by a start's repair.
  store = engine::SqliteJournalStore::open(db_path(live.path), &error, options);
  ASSERT_NE(store, nullptr) << error;
  ASSERT_TRUE(append_workflow(*store, "wf-torn").is_ok());
  store.reset();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path(live.path).c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "UPDATE journal SET payload = payload || ' ' "
                           "WHERE batch = (SELECT MAX(batch) FROM journal)",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  store = engine::SqliteJournalStore::open(db_path(live.path), &error, options);
  ASSERT_NE(store, nullptr) << error;
  engine::VerifyReport repaired;
  ASSERT_TRUE(store->verify(/*repair=*/true, &repaired).is_ok());
  EXPECT_GT(repaired.dropped, 0u);
  store.reset();
  opened_sound(live.path, "after dropping a torn tail");
}

}  // namespace
}  // namespace orch::testing
