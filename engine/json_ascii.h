// The word-at-a-time scan for plain JSON string bytes, shared by the writer
// (json_text.cpp) and the reader (json_read.cpp).
//
// A byte is plain when a JSON string may hold it as it is and it needs no
// UTF-8 check: printable ASCII other than '"' and '\\'.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace orch::json_ascii {

// Bytes that end a plain run: below 0x20, '"', '\\', or 0x80 and above.
inline bool special(unsigned char c) { return c < 0x20 || c == '"' || c == '\\' || c >= 0x80; }

// Whether any of the 8 bytes in `w` is special, a word at a time: the
// "has a zero byte" and "has a byte less than n" tests of Hacker's Delight
// (6-1), on `w` and on `w` XORed with '"' and with '\\' in every byte.
inline bool any_special(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  const std::uint64_t below_space = (w - 0x20 * kOnes) & ~w & kHigh;  // exact when w has no high bit
  return ((w & kHigh) | below_space | has_zero(w ^ ('"' * kOnes)) |
          has_zero(w ^ ('\\' * kOnes))) != 0;
}

// Length of the run of plain bytes at the start of [data, data + size).
inline std::size_t plain_prefix(const char* data, std::size_t size) {
  std::size_t n = 0;
  for (; n + 8 <= size; n += 8) {
    std::uint64_t w;
    std::memcpy(&w, data + n, 8);
    if (any_special(w)) break;
  }
  while (n < size && !special(static_cast<unsigned char>(data[n]))) ++n;
  return n;
}

}  // namespace orch::json_ascii
