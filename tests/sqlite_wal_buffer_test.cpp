// The WAL-buffering VFS (engine/sqlite_wal_buffer.h) on real database files:
// a commit's frames reach the log in one or two writes, and every byte
// SQLite wrote is there for SQLite's own reads, for other connections once
// committed, and after the database is closed and opened again.
#include "engine/sqlite_wal_buffer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>

namespace {

namespace fs = std::filesystem;
using orch::engine::wal_buffer_counts;
using orch::engine::wal_buffer_vfs;

class WalBufferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("wal-buffer-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "t.db").string();
  }
  void TearDown() override {
    for (sqlite3* db : open_) sqlite3_close(db);
    fs::remove_all(dir_);
  }

  sqlite3* open(const char* vfs) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
              SQLITE_OK);
    open_.push_back(db);
    return db;
  }
  void close(sqlite3* db) {
    std::erase(open_, db);
    ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
  }

  static void exec(sqlite3* db, const std::string& sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << sql << ": " << (err ? err : "");
    sqlite3_free(err);
  }
  static long long one(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    long long v = -1;
    if (st && sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
  }
  static std::string text(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    std::string v;
    if (st && sqlite3_step(st) == SQLITE_ROW)
      v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
  }

  fs::path dir_;
  std::string path_;
  std::vector<sqlite3*> open_;
};

TEST_F(WalBufferTest, ACommitReachesTheLogInOneWriteAndOtherConnectionsSeeIt) {
  ASSERT_NE(wal_buffer_vfs(), nullptr);
  sqlite3* db = open(wal_buffer_vfs());
  exec(db,
       "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t(k INTEGER PRIMARY "
       "KEY, v TEXT NOT NULL);");
  const auto before = wal_buffer_counts();
  exec(db,
       "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12) "
       "INSERT INTO t SELECT i, printf('%0900d', i) FROM n; COMMIT;");
  const auto after = wal_buffer_counts();
  // Three pages or more, two writes per frame from SQLite, one to the file.
  EXPECT_GE(after.writes_in - before.writes_in, 6u);
  EXPECT_EQ(after.writes_out - before.writes_out, 1u);

  // A connection through the default VFS, while the first is still open,
  // reads the committed rows from the log.
  sqlite3* other = open(nullptr);
  EXPECT_EQ(one(other, "SELECT count(*) FROM t WHERE v = printf('%0900d', k)"), 12);
}

TEST_F(WalBufferTest, ATransactionLargerThanOneWriteWithItsCacheSpilledStaysWhole) {
  ASSERT_NE(wal_buffer_vfs(), nullptr);
  sqlite3* db = open(wal_buffer_vfs());
  // A cache of 10 pages makes SQLite spill frames into the log mid-
  // transaction and read them back from it; 2,000 rows of 500 bytes are
  // about 1 MB of frames, more than one write may carry.
  exec(db,
       "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=10; "
       "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT NOT NULL);");
  exec(db,
       "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
       "INSERT INTO t SELECT i, printf('%0500d', i * 7919) FROM n;");
  EXPECT_EQ(one(db, "SELECT count(*) FROM t WHERE v = printf('%0500d', k * 7919)"), 2000);
  exec(db, "UPDATE t SET v = printf('%0500d', k) WHERE k % 3 = 0; COMMIT;");
  close(db);

  sqlite3* again = open(nullptr);
  EXPECT_EQ(text(again, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(one(again, "SELECT count(*) FROM t"), 2000);
  EXPECT_EQ(one(again,
                "SELECT count(*) FROM t WHERE v = printf('%0500d', CASE WHEN k % 3 = 0 "
                "THEN k ELSE k * 7919 END)"),
            2000);
}

TEST_F(WalBufferTest, ALogRestartedAfterACheckpointKeepsEveryCommit) {
  ASSERT_NE(wal_buffer_vfs(), nullptr);
  sqlite3* db = open(wal_buffer_vfs());
  exec(db,
       "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t(k INTEGER PRIMARY "
       "KEY, v TEXT NOT NULL);");
  sqlite3* checkpointer = open(nullptr);
  for (int round = 0; round < 5; ++round) {
    exec(db,
         "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < "
         "50) INSERT INTO t(v) SELECT printf('%0300d', i) FROM n; COMMIT;");
    // Copied back and reset: the next commit writes the log from its start.
    exec(checkpointer, "PRAGMA wal_checkpoint(RESTART);");
  }
  close(db);
  sqlite3* again = open(nullptr);
  EXPECT_EQ(text(again, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(one(again, "SELECT count(*) FROM t"), 250);
}

}  // namespace
