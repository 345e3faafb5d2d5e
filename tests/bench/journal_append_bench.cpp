// Microbenchmarks of the journal append path (Google Benchmark; not part of
// the CTest run). Build and run (README "Performance"):
//   cmake --build build --target journal_append_bench && ./build/tests/bench/journal_append_bench
//
// BM_StoreAppend: one SqliteJournalStore transaction (WAL, synchronous=FULL,
//   so one fsync) of `batch` records of a typical payload size.
// BM_RecordChecksum / BM_RecordChecksumBoost: the CRC-32 each record carries
//   (engine/journal/crc32.h, eight bytes a step) against Boost.CRC's byte-wise one.
// BM_GroupCommit: `in_flight` appends queued at once through Journal (the
//   group-commit writer thread), each acknowledged on the io_context only
//   once durable; items/s is appends made durable per second.
#include <benchmark/benchmark.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/crc.hpp>
#include <boost/asio/io_context.hpp>
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>

#include "engine/journal/journal.h"
#include "engine/store/sqlite_journal_store.h"

namespace {

namespace fs = std::filesystem;
using orch::engine::JournalRecord;
using orch::engine::RecordType;

// About the size of a step_completed record of the campaign workflow.
const std::string kPayload =
    R"({"attempt":1,"output":{"asset_id":"asset-0123456789","url":"https://figma.example/)"
    R"(images/CAMPAIGN_TEMPLATES/asset-0123456789.png","format":"png"},"step":"design.email"})";

struct Scratch {
  Scratch() {
    dir = fs::temp_directory_path() /
          ("journal-bench-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    fs::create_directories(dir);
    std::string error;
    store = orch::engine::SqliteJournalStore::open((dir / "journal.db").string(), &error);
    if (!store) throw std::runtime_error(error);
  }
  ~Scratch() {
    store.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  static inline int counter = 0;
  fs::path dir;
  std::unique_ptr<orch::engine::SqliteJournalStore> store;
};

JournalRecord record(std::uint64_t workflow, std::uint64_t seq) {
  return JournalRecord{"campaign-bench-" + std::to_string(workflow), seq,
                       seq == 1 ? RecordType::workflow_started : RecordType::step_completed,
                       1'700'000'000'000 + static_cast<orch::engine::TimeMs>(seq), kPayload};
}

void BM_StoreAppend(benchmark::State& state) {
  Scratch scratch;
  const auto batch = static_cast<std::uint64_t>(state.range(0));
  std::uint64_t seq = 0;
  std::vector<JournalRecord> records;
  for (auto _ : state) {
    state.PauseTiming();
    records.clear();
    ++seq;
    for (std::uint64_t w = 0; w < batch; ++w) records.push_back(record(w, seq));
    state.ResumeTiming();
    if (!scratch.store->append(records, {})) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
  state.counters["fsyncs/s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kIsRate);
}
BENCHMARK(BM_StoreAppend)->Arg(1)->Arg(16)->Arg(64)->Arg(256)->UseRealTime();

void BM_RecordChecksum(benchmark::State& state) {
  JournalRecord r;
  r.workflow_id = "cmp-0123456789abcdef0123456789abcdef";
  r.seq = 7;
  r.type = RecordType::step_completed;
  r.time_ms = 1'700'000'000'000;
  r.payload = kPayload;
  for (auto _ : state) benchmark::DoNotOptimize(r.checksum());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<std::int64_t>(r.workflow_id.size() + 25 + r.payload.size()));
}
BENCHMARK(BM_RecordChecksum);

void BM_RecordChecksumBoost(benchmark::State& state) {
  for (auto _ : state) {
    boost::crc_32_type crc;
    crc.process_bytes(kPayload.data(), kPayload.size());
    benchmark::DoNotOptimize(crc.checksum());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kPayload.size()));
}
BENCHMARK(BM_RecordChecksumBoost);

void BM_GroupCommit(benchmark::State& state) {
  Scratch scratch;
  boost::asio::io_context io{1};
  auto work = boost::asio::make_work_guard(io);
  std::thread io_thread([&] { io.run(); });
  {
    orch::engine::Journal journal(*scratch.store, io);
    const auto in_flight = static_cast<std::uint64_t>(state.range(0));
    std::uint64_t seq = 0;
    for (auto _ : state) {
      ++seq;
      std::atomic<std::uint64_t> durable{0};
      for (std::uint64_t w = 0; w < in_flight; ++w)
        journal.append({record(w, seq)}, {}, [&](const orch::Status&) { ++durable; });
      while (durable.load() < in_flight) std::this_thread::yield();
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(in_flight));
    const auto stats = journal.stats();
    state.counters["appends/commit"] =
        stats.commits ? static_cast<double>(stats.appends) / static_cast<double>(stats.commits) : 0;
  }
  work.reset();
  io_thread.join();
}
BENCHMARK(BM_GroupCommit)->Arg(1)->Arg(64)->Arg(256)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
