#include "engine/store/sqlite_wal_scan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace orch::engine {

namespace {

constexpr std::uint32_t kMagic = 0x377f0682;  // low bit set: big-endian checksum words
constexpr std::uint32_t kVersion = 3007000;
constexpr std::uint32_t kMinPageSize = 512;
constexpr std::uint32_t kMaxPageSize = 65536;
constexpr std::uint64_t kFramesPerRead = 64;

std::uint32_t be32(const unsigned char* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

std::uint32_t le32(const unsigned char* p) {
  return std::uint32_t{p[3]} << 24 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[1]} << 8 | p[0];
}

bool valid_page_size(std::uint32_t size) {
  return size >= kMinPageSize && size <= kMaxPageSize && (size & (size - 1)) == 0;
}

// SQLite's log checksum (walChecksumBytes): pairs of 32-bit words folded into
// s[0], s[1]. REQUIRES: n is a multiple of 8.
void checksum(bool big_endian, const unsigned char* data, std::size_t n, std::uint32_t s[2]) {
  for (std::size_t i = 0; i < n; i += 8) {
    const std::uint32_t x0 = big_endian ? be32(data + i) : le32(data + i);
    const std::uint32_t x1 = big_endian ? be32(data + i + 4) : le32(data + i + 4);
    s[0] += x0 + s[1];
    s[1] += x1 + s[0];
  }
}

bool read_at(int fd, unsigned char* out, std::size_t n, std::uint64_t at) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, out + done, n - done, static_cast<off_t>(at + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    done += static_cast<std::size_t>(r);
  }
  return true;
}

}  // namespace

Status scan_wal(const std::string& path, std::uint32_t fallback_page_size, WalScan* out) {
  *out = WalScan{};
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno == ENOENT ? Status::ok()
                           : Status::error("cannot read " + path + ": " + std::strerror(errno));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::error("cannot stat " + path);
  out->present = true;
  out->bytes = static_cast<std::uint64_t>(st.st_size);
  if (out->bytes < WalScan::kHeaderBytes) return Status::ok();

  unsigned char header[WalScan::kHeaderBytes];
  if (!read_at(fd, header, sizeof header, 0)) return Status::error("cannot read " + path);
  const std::uint32_t magic = be32(header);
  const bool big_endian = (magic & 1) != 0;
  const std::uint32_t page_size = be32(header + 8);
  const bool shaped =
      (magic & ~1u) == kMagic && be32(header + 4) == kVersion && valid_page_size(page_size);
  std::uint32_t computed[2] = {0, 0};
  checksum(big_endian, header, 24, computed);
  out->header_valid =
      shaped && computed[0] == be32(header + 24) && computed[1] == be32(header + 28);
  out->page_size =
      shaped ? page_size : (valid_page_size(fallback_page_size) ? fallback_page_size : 0);
  if (out->page_size == 0) return Status::ok();
  const std::uint64_t frame_bytes = out->frame_bytes();
  out->frames = (out->bytes - WalScan::kHeaderBytes) / frame_bytes;

  // The chain starts from the header's stored checksum; each frame's own
  // check starts from its predecessor's stored checksum, which equals the
  // chain's value while the chain holds.
  std::uint32_t prev[2] = {be32(header + 24), be32(header + 28)};
  bool chain = out->header_valid;
  if (!chain && out->frames > 0) out->first_bad_frame = 1;
  bool witness_wanted = false;             // the frame before: a valid commit frame after the break
  std::vector<std::uint32_t> uncommitted;  // pages of chain frames since its last commit
  std::uint64_t same_log_frames = 0;
  std::vector<unsigned char> buffer;
  for (std::uint64_t first = 1; first <= out->frames; first += kFramesPerRead) {
    const std::uint64_t count = std::min(kFramesPerRead, out->frames - first + 1);
    buffer.resize(count * frame_bytes);
    if (!read_at(fd, buffer.data(), buffer.size(), out->frame_offset(first)))
      return Status::error("cannot read " + path);
    for (std::uint64_t k = 0; k < count; ++k) {
      const std::uint64_t frame = first + k;
      const unsigned char* f = buffer.data() + k * frame_bytes;
      const std::uint32_t page = be32(f);
      const std::uint32_t database_pages = be32(f + 4);
      const bool same_log = std::memcmp(f + 8, header + 16, 8) == 0;
      std::uint32_t s[2] = {prev[0], prev[1]};
      checksum(big_endian, f, 8, s);
      checksum(big_endian, f + WalScan::kFrameHeaderBytes, out->page_size, s);
      const bool valid = same_log && page != 0 && s[0] == be32(f + 16) && s[1] == be32(f + 20);
      if (chain && valid) {
        uncommitted.push_back(page);
        if (database_pages != 0) {
          out->replayed = frame;
          out->database_pages = database_pages;
          out->pages.insert(out->pages.end(), uncommitted.begin(), uncommitted.end());
          uncommitted.clear();
        }
      } else {
        if (chain) {
          chain = false;
          out->first_bad_frame = frame;
        }
        if (witness_wanted && valid) ++out->durable_commits_dropped;
        witness_wanted = valid && database_pages != 0;
      }
      ++(same_log ? same_log_frames : out->stale);
      prev[0] = be32(f + 16);
      prev[1] = be32(f + 20);
    }
  }
  std::sort(out->pages.begin(), out->pages.end());
  out->pages.erase(std::unique(out->pages.begin(), out->pages.end()), out->pages.end());
  // Every replayed frame is of this log.
  out->dropped = same_log_frames - out->replayed;
  return Status::ok();
}

}  // namespace orch::engine
