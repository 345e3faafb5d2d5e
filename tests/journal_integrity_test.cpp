// Journal integrity on start: a WAL cut anywhere in its last frames (a torn
// write) loses at most the unacknowledged tail and never corrupts what
// remains; a bad record in the last commit is dropped with a warning; a bad
// record before it quarantines its workflow, named with the offset, and the
// start goes on.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "adapters/sandbox/sandbox.h"
#include "engine/store/sqlite_journal_store.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kCampaigns = 4;
constexpr std::uintmax_t kWalHeader = 32;
constexpr std::uintmax_t kFrameHeader = 24;

// All records of all workflows, as "workflow/seq/type/payload" strings.
std::map<std::string, std::vector<std::string>> dump(engine::JournalStore& store) {
  std::vector<engine::WorkflowSummary> rows;
  EXPECT_TRUE(store.load_summaries(&rows).is_ok());
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& row : rows) {
    std::vector<engine::JournalRecord> records;
    EXPECT_TRUE(store.load_workflow(row.workflow_id, &records).is_ok());
    for (const auto& r : records)
      out[row.workflow_id].push_back(std::to_string(r.seq) + "/" + std::to_string(int(r.type)) +
                                     "/" + r.payload);
  }
  return out;
}

int page_size_of(const fs::path& db) {
  std::ifstream in(db, std::ios::binary);
  unsigned char header[18];
  in.read(reinterpret_cast<char*>(header), sizeof header);
  const int size = header[16] << 8 | header[17];
  return size == 1 ? 65536 : size;
}

class JournalIntegrityTest : public ::testing::Test {
 protected:
  // Runs campaigns to review and snapshots the live database and its WAL,
  // as a crash would leave them.
  void SetUp() override {
    api::AppConfig config = test_config(live_.path);
    api::OrchestratorApp app(config);
    ASSERT_EQ(app.start(), "");
    ApiClient client(app.base_url());
    for (int i = 0; i < kCampaigns; ++i) {
      HttpReply r = client.post("/v1/campaigns", sample_campaign("integrity " + std::to_string(i)));
      ASSERT_EQ(r.status, 201);
      client.wait_for_status(r.body["workflow_id"], "awaiting_approval");
    }
    app.run_on_engine([] {});
    fs::copy_file(live_.path / "journal.db", snapshot_.path / "journal.db");
    fs::copy_file(live_.path / "journal.db-wal", snapshot_.path / "journal.db-wal");
  }

  fs::path trial(const std::string& name) {
    const fs::path dir = work_.path / name;
    fs::create_directories(dir);
    fs::copy_file(snapshot_.path / "journal.db", dir / "journal.db");
    fs::copy_file(snapshot_.path / "journal.db-wal", dir / "journal.db-wal");
    return dir;
  }

  TempDir live_, snapshot_, work_;
};

TEST_F(JournalIntegrityTest, WalCutAnywhereInItsLastFramesLeavesASoundPrefix) {
  std::string error;
  const fs::path full_dir = trial("full");
  auto full_store = engine::SqliteJournalStore::open((full_dir / "journal.db").string(), &error);
  ASSERT_TRUE(full_store) << error;
  const auto full = dump(*full_store);
  ASSERT_EQ(full.size(), static_cast<std::size_t>(kCampaigns));

  const std::uintmax_t wal_size = fs::file_size(snapshot_.path / "journal.db-wal");
  const std::uintmax_t frame = kFrameHeader + page_size_of(snapshot_.path / "journal.db");
  ASSERT_GT(wal_size, kWalHeader + 4 * frame);
  std::vector<std::uintmax_t> cuts;
  for (std::uintmax_t at = wal_size - 3 * frame; at < wal_size; at += 61) cuts.push_back(at);
  for (std::uintmax_t f = 1; f <= 3; ++f)
    for (std::uintmax_t d : {std::uintmax_t{0}, std::uintmax_t{1}, kFrameHeader})
      cuts.push_back(wal_size - f * frame + d);

  int app_starts = 0;
  int cuts_that_lost_records = 0;
  for (std::size_t i = 0; i < cuts.size(); ++i) {
    const fs::path dir = trial("cut" + std::to_string(i));
    fs::resize_file(dir / "journal.db-wal", cuts[i]);
    auto store = engine::SqliteJournalStore::open((dir / "journal.db").string(), &error);
    ASSERT_TRUE(store) << "cut at " << cuts[i] << ": " << error;
    engine::VerifyReport report;
    ASSERT_TRUE(store->verify(true, &report).is_ok());
    EXPECT_EQ(report.corrupt, "") << "cut at " << cuts[i];
    const auto cut = dump(*store);
    std::size_t lost = 0;
    for (const auto& [id, records] : full) {
      auto it = cut.find(id);
      const std::vector<std::string> kept = it == cut.end() ? std::vector<std::string>{} : it->second;
      ASSERT_LE(kept.size(), records.size());
      for (std::size_t k = 0; k < kept.size(); ++k)
        ASSERT_EQ(kept[k], records[k]) << id << " record " << k << " after cut " << cuts[i];
      lost += records.size() - kept.size();
    }
    // Three frames hold at most the last couple of group commits.
    EXPECT_LT(lost, 40u) << "cut at " << cuts[i];
    cuts_that_lost_records += lost > 0;
    store.reset();
    if (i % 16 == 0) {  // and the orchestrator itself starts and resumes
      api::OrchestratorApp app(test_config(dir));
      ASSERT_EQ(app.start(), "") << "cut at " << cuts[i];
      ++app_starts;
    }
  }
  EXPECT_GT(app_starts, 3);
  // The cuts really tore committed frames (not only unused WAL space).
  EXPECT_GT(cuts_that_lost_records, 0);
}

void corrupt_payload(const fs::path& db, const std::string& where) {
  sqlite3* handle = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
  const std::string sql = "UPDATE journal SET payload = payload || ' ' WHERE " + where;
  ASSERT_EQ(sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_GT(sqlite3_changes(handle), 0);
  sqlite3_close(handle);
}

TEST_F(JournalIntegrityTest, CorruptionBeforeTheTailQuarantinesItsWorkflowNamingTheOffset) {
  const fs::path dir = trial("middle");
  corrupt_payload(dir / "journal.db", "offset = 3");
  {
    api::OrchestratorApp app(test_config(dir));
    ASSERT_EQ(app.start(), "");
    ApiClient client(app.base_url());
    const json ready = client.get("/ready").body;
    ASSERT_EQ(ready["corrupt_workflows"], 1) << ready.dump();
    const std::string damaged = ready["corrupt_workflow_ids"][0];
    EXPECT_EQ(damaged.rfind("campaign-integrity-", 0), 0u) << damaged;
    HttpReply r = client.get("/v1/workflows/" + damaged);
    EXPECT_EQ(r.status, 500) << r.raw;
    const std::string detail = r.body.value("detail", "");
    EXPECT_NE(detail.find("journal corrupt"), std::string::npos) << detail;
    EXPECT_NE(detail.find("at offset 3"), std::string::npos) << detail;
    EXPECT_NE(detail.find("workflow " + damaged), std::string::npos) << detail;
    // The other campaigns go on to completion.
    int others = 0;
    const json listed = client.get("/v1/workflows?page_size=100").body;
    for (const json& row : listed["data"]) {
      const std::string id = row["workflow_id"];
      if (id == damaged) continue;
      ++others;
      client.wait_for_status(id, "awaiting_approval");
      ASSERT_EQ(client.post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}})
                    .status,
                202);
      client.wait_for_status(id, "completed");
    }
    EXPECT_EQ(others, kCampaigns - 1) << listed.dump();
  }
  std::string open_error;
  auto store = engine::SqliteJournalStore::open((dir / "journal.db").string(), &open_error);
  engine::VerifyReport report;
  ASSERT_TRUE(store->verify(false, &report).is_ok());
  EXPECT_FALSE(report.sound());
}

TEST_F(JournalIntegrityTest, ABadRecordInTheLastCommitIsDroppedAndTheRestResumes) {
  const fs::path dir = trial("tail");
  corrupt_payload(dir / "journal.db", "batch = (SELECT MAX(batch) FROM journal)");
  {
    std::string error;
    auto store = engine::SqliteJournalStore::open((dir / "journal.db").string(), &error);
    engine::VerifyReport report;
    ASSERT_TRUE(store->verify(false, &report).is_ok());
    EXPECT_EQ(report.corrupt, "");
    EXPECT_GT(report.torn_tail, 0u);
    EXPECT_FALSE(report.sound());
  }
  api::OrchestratorApp app(test_config(dir));
  ASSERT_EQ(app.start(), "");
  ApiClient client(app.base_url());
  HttpReply list = client.get("/v1/workflows?page_size=100");
  ASSERT_EQ(list.status, 200);
  // Every workflow still known resumes and can be approved to completion.
  for (const json& row : list.body["data"]) {
    const std::string id = row["workflow_id"];
    client.wait_for_status(id, "awaiting_approval");
    ASSERT_EQ(client.post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}}).status, 202);
    client.wait_for_status(id, "completed");
  }
  app.stop();
  std::string error;
  auto store = engine::SqliteJournalStore::open((dir / "journal.db").string(), &error);
  engine::VerifyReport report;
  ASSERT_TRUE(store->verify(false, &report).is_ok());
  EXPECT_TRUE(report.sound()) << report.corrupt;
}

// A workflow whose journal is damaged (a record failing its checksum, or a
// record missing) is quarantined wherever the damage is found: when it is
// finished and queried, when it waits on disk and is read back, and when it
// is rebuilt at start. Every route answers 500 problem+json naming it (and
// the offset of a bad record); it is listed as "corrupt", in /ready and the
// workflows_corrupt metric; the start goes on and the others carry on.
// (Before: 404 "no workflow" on queries, 503 on commands, nothing listed.)
TEST(JournalDamageTest, ADamagedWorkflowIsQuarantinedAndAnsweredOnEveryRoute) {
  TempDir dir;
  std::string finished, on_disk, healthy, scheduled;
  {
    api::OrchestratorApp app(test_config(dir.path));
    ASSERT_EQ(app.start(), "");
    ApiClient client(app.base_url());
    auto start = [&](const json& input) {
      HttpReply r = client.post("/v1/campaigns", input);
      EXPECT_EQ(r.status, 201) << r.raw;
      return r.body.value("workflow_id", "");
    };
    finished = start(sample_campaign("damage finished"));
    on_disk = start(sample_campaign("damage on disk"));
    healthy = start(sample_campaign("damage healthy"));
    json later = sample_campaign("damage scheduled");
    later["schedule_time"] = "2099-01-01T00:00:00Z";
    scheduled = start(later);
    for (const std::string& id : {finished, on_disk, healthy})
      client.wait_for_status(id, "awaiting_approval");
    ASSERT_EQ(client.post("/v1/workflows/" + finished + "/signals/approve", {{"reviewer", "alice"}})
                  .status,
              202);
    client.wait_for_status(finished, "completed");
    app.stop();  // a clean stop: the start-up check has nothing new to verify
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path / "journal.db").c_str(), &db), SQLITE_OK);
  auto exec = [&](const std::string& sql) {
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sql;
    ASSERT_EQ(sqlite3_changes(db), 1) << sql;
  };
  exec("UPDATE journal SET payload = payload || ' ' WHERE workflow_id = '" + finished +
       "' AND seq = 3");
  exec("DELETE FROM journal WHERE workflow_id = '" + on_disk + "' AND seq = 5");
  exec("UPDATE journal SET payload = payload || ' ' WHERE workflow_id = '" + scheduled +
       "' AND seq = 1");
  sqlite3_close(db);

  api::OrchestratorApp app(test_config(dir.path));
  ASSERT_EQ(app.start(), "");  // the rest of the store is fine: the start goes on
  ApiClient client(app.base_url());
  // Found at start: the scheduled campaign is rebuilt by recovery.
  json ready = client.get("/ready").body;
  EXPECT_EQ(ready["corrupt_workflow_ids"], json({scheduled})) << ready.dump();

  auto expect_damaged = [&](const HttpReply& r, const std::string& id, const std::string& what) {
    EXPECT_EQ(r.status, 500) << what << ": " << r.raw;
    EXPECT_NE(r.body.value("type", "").find("workflow-damaged"), std::string::npos) << r.raw;
    EXPECT_NE(r.body.value("detail", "").find(id), std::string::npos) << r.raw;
    bool problem_json = false;
    for (const auto& [k, v] : r.headers) problem_json |= v.find("problem+json") != std::string::npos;
    EXPECT_TRUE(problem_json) << what;
  };
  for (const std::string& id : {finished, on_disk, scheduled}) {
    const std::string wf = "/v1/workflows/" + id;
    for (const char* route : {"", "/history", "/approvals", "/progress",
                              "/progress?wait_for=completed&wait_ms=10"})
      expect_damaged(client.get(wf + route), id, wf + route);
    expect_damaged(client.post(wf + "/signals/approve", {{"reviewer", "alice"}}), id, "approve");
    expect_damaged(client.post(wf + "/updates/approve", {{"reviewer", "alice"}}), id, "update");
    expect_damaged(client.post(wf + "/cancel", json::object()), id, "cancel");
  }
  EXPECT_NE(client.get("/v1/workflows/" + finished).body.value("detail", "").find("at offset"),
            std::string::npos);
  json corrupt = client.get("/v1/workflows?status=corrupt").body;
  EXPECT_EQ(corrupt["pagination"]["total_count"], 3) << corrupt.dump();
  for (const json& row : corrupt["data"]) EXPECT_EQ(row["status"], "corrupt");
  ready = client.get("/ready").body;
  EXPECT_EQ(ready["corrupt_workflows"], 3);
  EXPECT_NE(client.get("/metrics").raw.find("workflows_corrupt 3"), std::string::npos);
  // The healthy campaign is untouched.
  ASSERT_EQ(client.post("/v1/workflows/" + healthy + "/signals/approve", {{"reviewer", "alice"}})
                .status,
            202);
  client.wait_for_status(healthy, "completed");
}

}  // namespace
}  // namespace orch::testing
