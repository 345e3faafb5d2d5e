// The journal's high-water mark file (engine/store/journal_high_water.h): the
// newest value reads back; a slot spoiled by a torn write leaves the older
// value of the other slot, never a newer or made-up one; a file with no
// readable slot is reported as such and rewritten on open.
#include "engine/store/journal_high_water.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using engine::HighWaterMark;

constexpr std::streamoff kSlotBytes = 512;

void spoil_slot(const std::filesystem::path& file, int slot) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(slot * kSlotBytes + 12);  // inside the commit number
  f.put('\x7f');
  ASSERT_TRUE(f.good());
}

// Which slot holds `commit`: the one whose spoiling loses it.
int slot_of(const std::filesystem::path& dir, const std::string& file, std::uint64_t commit) {
  for (int slot = 0; slot < 2; ++slot) {
    const auto copy = dir / ("probe" + std::to_string(slot));
    std::filesystem::copy_file(file, copy, std::filesystem::copy_options::overwrite_existing);
    spoil_slot(copy, slot);
    if (HighWaterMark::read(copy.string()).value.commit != commit) return slot;
  }
  return -1;
}

TEST(HighWaterMarkTest, TheNewestValueReadsBackAndATornSlotLeavesTheOlderOne) {
  TempDir dir;
  const std::string path = (dir.path / "j.db.hwm").string();
  EXPECT_EQ(HighWaterMark::read(path).state, HighWaterMark::State::absent);
  Status s;
  auto mark = HighWaterMark::open(path, HighWaterMark::read(path), {}, &s);
  ASSERT_NE(mark, nullptr) << s.message();
  HighWaterMark::Reading r = HighWaterMark::read(path);
  EXPECT_EQ(r.state, HighWaterMark::State::readable);
  EXPECT_EQ(r.value.commit, 0u);

  for (std::uint64_t commit = 1; commit <= 5; ++commit) {
    ASSERT_TRUE(mark->advance({commit, static_cast<std::int64_t>(commit * 10)}).is_ok());
    r = HighWaterMark::read(path);
    EXPECT_EQ(r.value.commit, commit);
    EXPECT_EQ(r.value.offset, static_cast<std::int64_t>(commit * 10));
  }
  // Written in turn: the newest and the one before sit in different slots.
  const int newest = slot_of(dir.path, path, 5);
  ASSERT_GE(newest, 0);
  spoil_slot(path, newest);
  r = HighWaterMark::read(path);
  EXPECT_EQ(r.state, HighWaterMark::State::readable);
  EXPECT_EQ(r.value.commit, 4u);
  EXPECT_EQ(r.value.offset, 40);

  // Reopened, the mark is kept as it is, and the next value goes to the
  // spoiled slot, not over the one left.
  mark = HighWaterMark::open(path, r, {}, &s);
  ASSERT_NE(mark, nullptr) << s.message();
  EXPECT_EQ(HighWaterMark::read(path).value.commit, 4u);
  ASSERT_TRUE(mark->advance({6, 60}).is_ok());
  spoil_slot(path, 1 - newest);
  EXPECT_EQ(HighWaterMark::read(path).value.commit, 6u);
}

TEST(HighWaterMarkTest, AFileWithNoReadableSlotIsReportedAndRewrittenOnOpen) {
  TempDir dir;
  const std::string path = (dir.path / "j.db.hwm").string();
  std::ofstream(path) << "not a mark";
  const HighWaterMark::Reading r = HighWaterMark::read(path);
  EXPECT_EQ(r.state, HighWaterMark::State::unreadable);
  EXPECT_EQ(r.value.commit, 0u);
  Status s;
  auto mark = HighWaterMark::open(path, r, {7, 70}, &s);
  ASSERT_NE(mark, nullptr) << s.message();
  const HighWaterMark::Reading again = HighWaterMark::read(path);
  EXPECT_EQ(again.state, HighWaterMark::State::readable);
  EXPECT_EQ(again.value.commit, 7u);
}

}  // namespace
}  // namespace orch::testing
