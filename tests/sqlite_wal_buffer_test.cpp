// The WAL-buffering VFS (engine/store/sqlite_wal_buffer.h) on real database files:
// a commit's frames reach the log in one or two writes, and every byte
// SQLite wrote is there for SQLite's own reads, for other connections once
// committed, and after the database is closed and opened again.
#include "engine/store/sqlite_wal_buffer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

#include "tests/support/orchestrator_fixture.h"
#include "tests/support/sqlite_query.h"

namespace orch::testing {
namespace {

using engine::wal_buffer_counts;
using engine::wal_buffer_vfs;
using Rows = std::vector<std::string>;

class WalBufferTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (sqlite3* db : open_) sqlite3_close(db);
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

  // A connection through the buffering VFS to a new database in WAL mode with
  // fsync on and `extra` settings, holding an empty table t(k, v).
  sqlite3* open_buffered(const std::string& extra = "") {
    sqlite3* db = open(wal_buffer_vfs());
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; " + extra +
                 "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT NOT NULL);");
    return db;
  }

  TempDir dir_;
  const std::string path_ = (dir_.path / "t.db").string();
  std::vector<sqlite3*> open_;
};

TEST_F(WalBufferTest, ACommitReachesTheLogInOneWriteAndOtherConnectionsSeeIt) {
  ASSERT_NE(wal_buffer_vfs(), nullptr);
  sqlite3* db = open_buffered();
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
  EXPECT_EQ(query_column(other, "SELECT count(*) FROM t WHERE v = printf('%0900d', k)"),
            Rows{"12"});
}

TEST_F(WalBufferTest, ATransactionLargerThanOneWriteWithItsCacheSpilledStaysWhole) {
  ASSERT_NE(wal_buffer_vfs(), nullptr);
  // A cache of 10 pages makes SQLite spill frames into the log mid-
  // transaction and read them back from it; 2,000 rows of 500 bytes are
  // about 1 MB of frames, more than one write may carry.
  sqlite3* db = open_buffered("PRAGMA cache_size=10; ");
  exec(db,
       "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
       "INSERT INTO t SELECT i, printf('%0500d', i * 7919) FROM n;");
  EXPECT_EQ(query_column(db, "SELECT count(*) FROM t WHERE v = printf('%0500d', k * 7919)"),
            Rows{"2000"});
  exec(db, "UPDATE t SET v = printf('%0500d', k) WHERE k % 3 = 0; COMMIT;");
  close(db);

  sqlite3* again = open(nullptr);
  EXPECT_EQ(query_column(again, "PRAGMA integrity_check"), Rows{"ok"});
  EXPECT_EQ(query_column(again, "SELECT count(*) FROM t"), Rows{"2000"});
  EXPECT_EQ(query_column(again,
                         "SELECT count(*) FROM t WHERE v = printf('%0500d', CASE WHEN k % 3 = 0 "
                         "THEN k ELSE k * 7919 END)"),
            Rows{"2000"});
}

TEST_F(WalBufferTest, ALogRestartedAfterACheckpointKeepsEveryCommit) {
  ASSERT_NE(wal_buffer_vfs(), nullptr);
  sqlite3* db = open_buffered();
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
  EXPECT_EQ(query_column(again, "PRAGMA integrity_check"), Rows{"ok"});
  EXPECT_EQ(query_column(again, "SELECT count(*) FROM t"), Rows{"250"});
}

}  // namespace
}  // namespace orch::testing
