// Finding the first byte of a range that a 16-byte SSE2 test flags, without
// reading past the range: shared by the JSON string scan
// (engine/json/json_ascii.h) and the HTTP field-value check
// (adapters/http/http_syntax.h).
//
// A range shorter than 16 bytes is copied into a block padded with 'a', so
// the test must never flag 'a'. A longer one is tested 16 bytes per step,
// and its last, partial step is a block that ends at the range's end and
// overlaps bytes already found unflagged.
#pragma once

#include <cstddef>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>

namespace orch::byte_scan {

// `mask16(p)` returns a mask with bit i set when byte i of the 16 at p is
// flagged. Returns the offset of the first flagged byte, or `size`. Declared
// inline so that GCC inlines it into the callers' loops.
template <class Mask16>
inline std::size_t first_flagged(const char* data, std::size_t size, Mask16 mask16) {
  if (size < 16) {
    if (size == 0) return 0;
    char padded[16];
    std::memset(padded, 'a', sizeof padded);
    std::memcpy(padded, data, size);
    const unsigned mask = mask16(padded);
    return mask != 0 ? static_cast<std::size_t>(__builtin_ctz(mask)) : size;
  }
  std::size_t n = 0;
  for (; n + 16 <= size; n += 16)
    if (const unsigned mask = mask16(data + n); mask != 0)
      return n + static_cast<std::size_t>(__builtin_ctz(mask));
  if (n == size) return size;
  const std::size_t last = size - 16;
  const unsigned mask = mask16(data + last);
  return mask != 0 ? last + static_cast<std::size_t>(__builtin_ctz(mask)) : size;
}

inline __m128i load16(const char* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

}  // namespace orch::byte_scan

#endif  // __SSE2__
