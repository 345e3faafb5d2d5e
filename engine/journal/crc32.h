// CRC-32 (the IEEE 802.3 / zip polynomial, reflected; the same value as
// boost::crc_32_type), computed eight bytes at a time.
//
// Written here because Boost.CRC, which the journal used, looks its table up
// once per byte: in a profile under the benchmark, checksumming records was
// 9 % of the journal writer thread. "Slicing-by-8" (Kounavis and Berry,
// Intel, 2005) uses eight tables to fold eight bytes per step: 2.2 GB/s
// against Boost's 0.45 GB/s on the development machine
// (tests/bench/journal_append_bench, BM_RecordChecksum*). zlib
// has the same algorithm but is not one of this project's dependencies.
// Checksums already on disk stay valid: the value is the same.
#pragma once

#include <cstddef>
#include <cstdint>

namespace orch::engine {

class Crc32 {
 public:
  void update(const void* data, std::size_t size);
  void update_byte(unsigned char byte) { update(&byte, 1); }
  std::uint32_t value() const { return ~state_; }

 private:
  std::uint32_t state_ = 0xFFFFFFFFu;
};

}  // namespace orch::engine
