// json_ascii::plain_prefix against its byte-by-byte definition: every byte
// value at every position of strings as long as a few of the scan's steps,
// so each lane of the 16-byte and 8-byte steps and the tail are covered.
#include "engine/json/json_ascii.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>

namespace {

using orch::json_ascii::plain_prefix;
using orch::json_ascii::special;

std::size_t byte_by_byte(const std::string& s) {
  std::size_t n = 0;
  while (n < s.size() && !special(static_cast<unsigned char>(s[n]))) ++n;
  return n;
}

TEST(JsonAsciiTest, SpecialIsWhatAJsonStringCannotHoldPlainly) {
  for (int c = 0; c < 256; ++c) {
    const bool expected = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
    EXPECT_EQ(special(static_cast<unsigned char>(c)), expected) << c;
  }
}

TEST(JsonAsciiTest, EveryByteAtEveryPositionStopsTheScanOnlyIfSpecial) {
  for (std::size_t length = 1; length <= 50; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      for (int c = 0; c < 256; ++c) {
        std::string s(length, 'a');
        s[at] = static_cast<char>(c);
        const std::size_t expected = special(static_cast<unsigned char>(c)) ? at : length;
        ASSERT_EQ(plain_prefix(s.data(), s.size()), expected)
            << "length " << length << ", byte " << c << " at " << at;
      }
    }
  }
}

// The 8-byte word test, which builds without SSE2 scan with.
TEST(JsonAsciiTest, TheWordTestFindsEverySpecialByteInEveryLane) {
  for (int lane = 0; lane < 8; ++lane) {
    for (int c = 0; c < 256; ++c) {
      char bytes[8];
      std::memset(bytes, 'a', sizeof bytes);
      bytes[lane] = static_cast<char>(c);
      std::uint64_t w;
      std::memcpy(&w, bytes, sizeof w);
      ASSERT_EQ(orch::json_ascii::any_special(w), special(static_cast<unsigned char>(c)))
          << "byte " << c << " in lane " << lane;
    }
  }
}

TEST(JsonAsciiTest, TheFirstOfSeveralSpecialBytesEndsTheRun) {
  std::mt19937 rng(7);
  const std::string plain = "abc XYZ 019 ~!#$%&'()*+,-./:;<=>?@[]^_`{|}\x7f";
  const std::string stops = std::string("\"\\\n\t\x01\x1f\x80\xc3\xff", 9);
  for (int round = 0; round < 20000; ++round) {
    std::string s(rng() % 70, ' ');
    for (char& ch : s) ch = plain[rng() % plain.size()];
    const int specials = static_cast<int>(rng() % 4);
    for (int k = 0; k < specials && !s.empty(); ++k)
      s[rng() % s.size()] = stops[rng() % stops.size()];
    ASSERT_EQ(plain_prefix(s.data(), s.size()), byte_by_byte(s)) << round;
  }
}

TEST(JsonAsciiTest, AllAsciiFailsOnAnyHighByteAnywhere) {
  for (std::size_t length = 0; length <= 40; ++length) {
    const std::string plain(length, '\n');
    EXPECT_TRUE(orch::json_ascii::all_ascii(plain.data(), plain.size()));
    for (std::size_t at = 0; at < length; ++at) {
      for (int c = 0x7f; c < 256; ++c) {
        std::string s = plain;
        s[at] = static_cast<char>(c);
        ASSERT_EQ(orch::json_ascii::all_ascii(s.data(), s.size()), c < 0x80)
            << "length " << length << ", byte " << c << " at " << at;
      }
    }
  }
  // Bytes past the end are not looked at.
  const std::string s = std::string(20, 'x') + "\xc3";
  EXPECT_TRUE(orch::json_ascii::all_ascii(s.data(), 20));
}

TEST(JsonAsciiTest, TheScanReadsNothingPastTheEnd) {
  // Only `size` bytes are looked at: a special byte just past the end of the
  // range does not stop a run that fills it.
  const std::string s = std::string(40, 'x') + '"';
  for (std::size_t size = 0; size <= 40; ++size) EXPECT_EQ(plain_prefix(s.data(), size), size);
}

}  // namespace
