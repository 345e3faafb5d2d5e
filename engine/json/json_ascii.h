// The fast scan for plain JSON string bytes, shared by the writers
// (json_text.cpp, json_writer.cpp).
//
// A byte is plain when a JSON string may hold it as it is and it needs no
// UTF-8 check: printable ASCII other than '"' and '\\'.
//
// Where SSE2 is there (every x86-64), 16 bytes are tested per step with
// three compares: under the benchmark the scan was 4.6 % of the
// orchestrator's instructions at 8 bytes per step. Elsewhere the 8-byte
// word test below does it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "engine/json/byte_scan.h"

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
  const std::uint64_t below_space =
      (w - 0x20 * kOnes) & ~w & kHigh;  // exact when w has no high bit
  return ((w & kHigh) | below_space | has_zero(w ^ ('"' * kOnes)) | has_zero(w ^ ('\\' * kOnes))) !=
         0;
}

#if defined(__SSE2__)
// Bit i set when byte i of the 16 at `p` is special. A signed compare: bytes
// 0x80 and above are negative, so "below a space" catches them together with
// the control characters.
inline unsigned special_mask16(const char* p) {
  const __m128i v = byte_scan::load16(p);
  const __m128i stop = _mm_or_si128(
      _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
  return static_cast<unsigned>(_mm_movemask_epi8(stop));
}

// Length of the run of plain bytes at the start of [data, data + size).
inline std::size_t plain_prefix(const char* data, std::size_t size) {
  // A lambda, not the function's address: its own type, so the test inlines.
  return byte_scan::first_flagged(data, size, [](const char* p) { return special_mask16(p); });
}

// Whether every byte of [data, data + size) is below 0x80.
inline bool all_ascii(const char* data, std::size_t size) {
  std::size_t n = 0;
  __m128i any = _mm_setzero_si128();
  for (; n + 16 <= size; n += 16) any = _mm_or_si128(any, byte_scan::load16(data + n));
  unsigned char tail = 0;
  for (; n < size; ++n) tail |= static_cast<unsigned char>(data[n]);
  return _mm_movemask_epi8(any) == 0 && tail < 0x80;
}
#else
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

// Whether every byte of [data, data + size) is below 0x80.
inline bool all_ascii(const char* data, std::size_t size) {
  unsigned char any = 0;
  for (std::size_t n = 0; n < size; ++n) any |= static_cast<unsigned char>(data[n]);
  return any < 0x80;
}
#endif

}  // namespace orch::json_ascii
