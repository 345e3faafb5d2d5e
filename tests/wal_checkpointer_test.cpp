// The SQLite journal's background checkpointer: the log is copied back into
// the database while the writer keeps committing, it starts over instead of
// growing, and every record reads back intact after a reopen.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "api/server/config.h"
#include "engine/store/sqlite_journal_store.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using engine::JournalRecord;
using engine::RecordType;

constexpr int kThresholdPages = 64;
constexpr int kWorkflows = 300;
constexpr int kRecordsEach = 5;

engine::WorkflowSummary summary(const std::string& wf, std::uint64_t seq) {
  return {wf, "run", "marketing_campaign", seq == kRecordsEach ? "completed" : "running",
          "research", 1, static_cast<engine::TimeMs>(seq), "", "hash"};
}

std::string payload(int workflow, std::uint64_t seq) {
  // About 6 KiB: every commit adds two or three pages to the log.
  return "{\"w\":" + std::to_string(workflow) + ",\"seq\":" + std::to_string(seq) +
         ",\"pad\":\"" + std::string(6000, static_cast<char>('a' + (workflow + seq) % 26)) + "\"}";
}

TEST(WalCheckpointerTest, CopiesTheLogBesideTheWriterAndStartsItOver) {
  TempDir dir;
  const std::string path = (dir.path / "j.db").string();
  engine::StoreOptions options;
  options.wal_checkpoint_pages = kThresholdPages;
  std::string error;
  {
    auto store = engine::SqliteJournalStore::open(path, &error, options);
    ASSERT_TRUE(store) << error;
    // One commit per record, round robin over the workflows: 1,500 commits,
    // some 4,000 pages of log in all.
    for (std::uint64_t seq = 1; seq <= kRecordsEach; ++seq) {
      for (int w = 0; w < kWorkflows; ++w) {
        const std::string id = "wf-" + std::to_string(w);
        JournalRecord r{id, seq, seq == 1 ? RecordType::workflow_started : RecordType::step_scheduled,
                        static_cast<engine::TimeMs>(seq), payload(w, seq)};
        ASSERT_TRUE(store->append({r}, {summary(id, seq)}).is_ok()) << id << " " << seq;
      }
    }
    const engine::WalCheckpointer::Stats stats = store->checkpoint_stats();
    std::printf("checkpoints: %llu background (%llu frames), %llu finished in a commit (%llu "
                "frames); %llu restarts; largest log %llu pages\n",
                static_cast<unsigned long long>(stats.background),
                static_cast<unsigned long long>(stats.background_frames),
                static_cast<unsigned long long>(stats.finishing),
                static_cast<unsigned long long>(stats.finishing_frames),
                static_cast<unsigned long long>(stats.restarts),
                static_cast<unsigned long long>(stats.max_pages));
    EXPECT_GT(stats.background, 0u);
    EXPECT_GT(stats.finishing, 0u);
    // The thread copied most of the log; commits copied what it left (about
    // a quarter here, where a commit adds a twentieth of the threshold).
    EXPECT_GT(stats.background_frames, stats.finishing_frames);
    // The log started over many times instead of holding all 4,000 pages.
    EXPECT_GE(stats.restarts, 5u);
    EXPECT_LT(stats.max_pages, 16u * kThresholdPages);
    // The records are in the database file itself, not only in the log.
    EXPECT_GT(std::filesystem::file_size(path), 300u * 6000u);
  }
  // Closed cleanly; reopened, every record is there and passes its checksum.
  auto store = engine::SqliteJournalStore::open(path, &error, options);
  ASSERT_TRUE(store) << error;
  engine::VerifyReport report;
  ASSERT_TRUE(store->verify(/*repair=*/false, &report).is_ok());
  EXPECT_TRUE(report.sound()) << report.corrupt;
  EXPECT_EQ(report.records, static_cast<std::uint64_t>(kWorkflows * kRecordsEach));
  std::vector<JournalRecord> records;
  ASSERT_TRUE(store->load_workflow("wf-123", &records).is_ok());
  ASSERT_EQ(records.size(), static_cast<std::size_t>(kRecordsEach));
  EXPECT_EQ(records[4].payload, payload(123, 5));
}

TEST(WalCheckpointerTest, ZeroLeavesCheckpointsToSqlite) {
  TempDir dir;
  engine::StoreOptions options;
  options.wal_checkpoint_pages = 0;
  std::string error;
  auto store = engine::SqliteJournalStore::open((dir.path / "j.db").string(), &error, options);
  ASSERT_TRUE(store) << error;
  for (int w = 0; w < 50; ++w) {
    const std::string id = "wf-" + std::to_string(w);
    ASSERT_TRUE(store->append({JournalRecord{id, 1, RecordType::workflow_started, 1, payload(w, 1)}},
                              {summary(id, 1)})
                    .is_ok());
  }
  const engine::WalCheckpointer::Stats stats = store->checkpoint_stats();
  EXPECT_EQ(stats.background, 0u);
  EXPECT_EQ(stats.max_pages, 0u);  // no hook of ours saw a commit
}

std::string load(const TempDir& dir, const std::string& text, api::AppConfig* config) {
  const auto path = dir.path / "config.json";
  std::ofstream(path) << text;
  return api::load_config(path.string(), config);
}

TEST(WalCheckpointerTest, ConfigSetsTheThresholdAndRefusesNonsense) {
  TempDir dir;
  api::AppConfig config;
  EXPECT_EQ(config.journal_checkpoint_pages, 10'000);
  EXPECT_EQ(load(dir, R"({"journal_checkpoint_pages": 256})", &config), "");
  EXPECT_EQ(config.journal_checkpoint_pages, 256);
  EXPECT_EQ(load(dir, R"({"journal_checkpoint_pages": 0})", &config), "");
  EXPECT_EQ(config.journal_checkpoint_pages, 0);
  for (const char* bad : {R"({"journal_checkpoint_pages": -1})",
                          R"({"journal_checkpoint_pages": 5000000})",
                          R"({"journal_checkpoint_pages": "many"})"}) {
    config.journal_checkpoint_pages = 77;
    EXPECT_NE(load(dir, bad, &config), "") << bad;
    EXPECT_EQ(config.journal_checkpoint_pages, 77) << bad;
  }
}

}  // namespace
}  // namespace orch::testing
