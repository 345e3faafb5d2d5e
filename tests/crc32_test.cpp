// engine/journal/crc32.h gives the same CRC-32 as Boost.CRC, which wrote the
// checksums of journals already on disk.
#include "engine/journal/crc32.h"

#include <gtest/gtest.h>

#include <boost/crc.hpp>
#include <random>
#include <string>

#include "engine/journal/journal_record.h"

namespace orch::engine {
namespace {

std::uint32_t boost_crc(const std::string& s) {
  boost::crc_32_type crc;
  crc.process_bytes(s.data(), s.size());
  return crc.checksum();
}

TEST(Crc32, KnownValue) {
  Crc32 crc;
  crc.update("123456789", 9);
  EXPECT_EQ(crc.value(), 0xCBF43926u);  // the standard check value
  EXPECT_EQ(Crc32().value(), 0u);
}

// Every length up to 40 (the byte-wise tail and the first eight-byte steps),
// then every 37th up to 600, each at the eight alignments.
TEST(Crc32, SameAsBoostAtEveryAlignment) {
  std::mt19937 random(7);
  std::string data(600, '\0');
  for (char& c : data) c = static_cast<char>(random());
  for (std::size_t offset = 0; offset < 8; ++offset) {
    for (std::size_t length = 0; offset + length <= data.size(); length += (length < 40 ? 1 : 37)) {
      const std::string piece = data.substr(offset, length);
      Crc32 crc;
      crc.update(data.data() + offset, length);
      ASSERT_EQ(crc.value(), boost_crc(piece)) << "offset " << offset << " length " << length;
    }
  }
}

TEST(Crc32, UpdatesInPiecesEqualOneUpdate) {
  const std::string s = "workflow cmp-1, seq 3: {\"step\":\"design.render[email]\",\"attempt\":1}";
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    Crc32 a;
    a.update(s.data(), cut);
    a.update(s.data() + cut, s.size() - cut);
    ASSERT_EQ(a.value(), boost_crc(s)) << "cut at " << cut;
  }
}

TEST(Crc32, RecordChecksumUnchangedFromBoost) {
  JournalRecord r;
  r.workflow_id = "cmp-0123456789abcdef";
  r.seq = 12;
  r.type = RecordType::step_completed;
  r.time_ms = 1'700'000'000'123;
  r.payload = R"({"attempt":1,"output":{"url":"https://x"},"step":"design.render[email]"})";
  boost::crc_32_type crc;
  crc.process_bytes(r.workflow_id.data(), r.workflow_id.size());
  crc.process_byte(0);
  const std::uint64_t fixed[3] = {r.seq, static_cast<std::uint64_t>(r.type),
                                  static_cast<std::uint64_t>(r.time_ms)};
  crc.process_bytes(fixed, sizeof(fixed));
  crc.process_bytes(r.payload.data(), r.payload.size());
  EXPECT_EQ(r.checksum(), crc.checksum());
}

}  // namespace
}  // namespace orch::engine
