#include "engine/store/journal_high_water.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "engine/journal/crc32.h"

namespace orch::engine {

namespace {

constexpr char kMagic[8] = {'O', 'R', 'C', 'H', 'H', 'W', 'M', '1'};
constexpr std::size_t kSlotBytes = 512;  // one sector each: a torn write spoils one slot
constexpr std::size_t kSlots = 2;
constexpr std::size_t kPayloadBytes = 24;  // magic, commit, offset
constexpr std::size_t kRecordBytes = kPayloadBytes + 4;

using Record = std::array<unsigned char, kRecordBytes>;

void put_u64(unsigned char* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(v >> (8 * i));
}

std::uint64_t get_u64(const unsigned char* in) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | in[i];
  return v;
}

std::uint32_t crc_of(const unsigned char* data) {
  Crc32 crc;
  crc.update(data, kPayloadBytes);
  return crc.value();
}

Record encode(HighWaterMark::Value value) {
  Record r{};
  std::memcpy(r.data(), kMagic, sizeof kMagic);
  put_u64(r.data() + 8, value.commit);
  put_u64(r.data() + 16, static_cast<std::uint64_t>(value.offset));
  const std::uint32_t crc = crc_of(r.data());
  for (int i = 0; i < 4; ++i) r[kPayloadBytes + i] = static_cast<unsigned char>(crc >> (8 * i));
  return r;
}

// The slot's value, or false when it holds none (never written, torn, damaged).
bool decode(const unsigned char* slot, HighWaterMark::Value* out) {
  if (std::memcmp(slot, kMagic, sizeof kMagic) != 0) return false;
  std::uint32_t stored = 0;
  for (int i = 3; i >= 0; --i) stored = stored << 8 | slot[kPayloadBytes + i];
  if (stored != crc_of(slot)) return false;
  out->commit = get_u64(slot + 8);
  out->offset = static_cast<std::int64_t>(get_u64(slot + 16));
  return true;
}

Status errno_status(const std::string& what, const std::string& path) {
  return Status::error("journal high-water mark " + path + ": " + what + ": " +
                       std::strerror(errno));
}

// Which slot holds the newest value (-1: neither is readable).
int newest_slot(const unsigned char* file, std::size_t bytes, HighWaterMark::Value* out) {
  int newest = -1;
  for (std::size_t slot = 0; slot < kSlots; ++slot) {
    HighWaterMark::Value v;
    if (slot * kSlotBytes + kRecordBytes > bytes) break;
    if (!decode(file + slot * kSlotBytes, &v)) continue;
    if (newest < 0 || v.commit > out->commit) {
      *out = v;
      newest = static_cast<int>(slot);
    }
  }
  return newest;
}

}  // namespace

std::string HighWaterMark::path_for(const std::string& db_path) { return db_path + ".hwm"; }

HighWaterMark::Reading HighWaterMark::read(const std::string& path) {
  Reading reading;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    reading.state = errno == ENOENT ? State::absent : State::unreadable;
    return reading;
  }
  std::array<unsigned char, kSlots * kSlotBytes> file{};
  const ssize_t n = ::pread(fd, file.data(), file.size(), 0);
  ::close(fd);
  Value v;
  if (n > 0 && newest_slot(file.data(), static_cast<std::size_t>(n), &v) >= 0) {
    reading.state = State::readable;
    reading.value = v;
  } else {
    reading.state = State::unreadable;
  }
  return reading;
}

std::unique_ptr<HighWaterMark> HighWaterMark::open(const std::string& path, const Reading& found,
                                                   Value initial, Status* status) {
  *status = Status::ok();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    *status = errno_status("open", path);
    return nullptr;
  }
  std::unique_ptr<HighWaterMark> mark(new HighWaterMark(fd));
  if (found.state == State::readable) {
    std::array<unsigned char, kSlots * kSlotBytes> file{};
    const ssize_t n = ::pread(fd, file.data(), file.size(), 0);
    Value v;
    const int newest = n > 0 ? newest_slot(file.data(), static_cast<std::size_t>(n), &v) : -1;
    if (newest >= 0) {
      mark->next_slot_ = 1 - newest;
      return mark;
    }
  }
  // New (or unreadable): both slots, then the file and its directory entry
  // made durable, so a mark that exists once keeps existing.
  for (int slot = 0; slot < static_cast<int>(kSlots); ++slot) {
    if (Status s = mark->write_slot(slot, initial); !s) {
      *status = s;
      return nullptr;
    }
  }
  if (::fsync(fd) != 0) {
    *status = errno_status("fsync", path);
    return nullptr;
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return mark;
}

HighWaterMark::~HighWaterMark() {
  if (fd_ >= 0) ::close(fd_);
}

Status HighWaterMark::write_slot(int slot, Value value) {
  const Record r = encode(value);
  const off_t at = static_cast<off_t>(slot) * static_cast<off_t>(kSlotBytes);
  if (::pwrite(fd_, r.data(), r.size(), at) != static_cast<ssize_t>(r.size()))
    return Status::error(std::string("journal high-water mark: write: ") + std::strerror(errno));
  return Status::ok();
}

Status HighWaterMark::advance(Value value) {
  if (Status s = write_slot(next_slot_, value); !s) return s;
  next_slot_ = 1 - next_slot_;
  if (++unsynced_ >= kSyncEveryCommits) return sync();
  return Status::ok();
}

Status HighWaterMark::sync() {
  unsynced_ = 0;
  if (::fdatasync(fd_) != 0)
    return Status::error(std::string("journal high-water mark: fdatasync: ") +
                         std::strerror(errno));
  return Status::ok();
}

}  // namespace orch::engine
