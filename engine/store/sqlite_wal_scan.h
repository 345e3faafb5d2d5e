// A SQLite write-ahead log read from its file before SQLite opens it: what
// SQLite's recovery will replay, what it will drop, and whether what it drops
// was committed and durable (https://www.sqlite.org/fileformat.html, sec. 4).
//
// SQLite's recovery replays frames in file order while each carries the
// header's salt and a checksum that continues the one before, and keeps them
// up to the last commit frame (one with a non-zero database size) among
// them. Every frame after the first bad one is dropped, committed or not.
//
// A torn last commit (normal after a crash) against lost commits: with
// synchronous=FULL a connection writes its next transaction's frames only
// after the previous commit was fsynced, and the frames of one log (one salt)
// are only appended. So a valid commit frame after the break whose next
// frame, of the same salt, continues the commit frame's checksum was durable
// before that next frame was written: SQLite drops a durable commit. Stale
// frames of the same salt (what an interrupted transaction left, overwritten
// in part by the next one after a restart) never have such a successor.
// Damage confined to the last commit has no witness here; the high-water
// mark (journal_high_water.h) sees that.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/common/status.h"

namespace orch::engine {

struct WalScan {
  bool present = false;  // the file exists
  std::uint64_t bytes = 0;
  bool header_valid = false;    // magic, version, page size and checksum
  std::uint32_t page_size = 0;  // of the frames counted (0: unknown; none counted)
  std::uint64_t frames = 0;     // whole frames in the file
  std::uint64_t replayed = 0;   // frames SQLite keeps: 1 .. the last valid commit frame
  std::uint64_t dropped = 0;    // frames of this log (its salt) after those: SQLite ignores them
  std::uint64_t durable_commits_dropped = 0;  // commit frames among them proven durable
  std::uint64_t stale = 0;            // frames of earlier logs (another salt), already checkpointed
  std::uint64_t first_bad_frame = 0;  // 1-based; 0 = none
  std::uint32_t database_pages = 0;   // database size after the last replayed commit (0: none)
  std::vector<std::uint32_t> pages;   // page numbers in replayed frames, sorted, unique

  std::uint64_t frame_bytes() const { return kFrameHeaderBytes + page_size; }
  // File offset of frame `frame` (1-based).
  std::uint64_t frame_offset(std::uint64_t frame) const {
    return kHeaderBytes + (frame - 1) * frame_bytes();
  }

  static constexpr std::uint64_t kHeaderBytes = 32;
  static constexpr std::uint64_t kFrameHeaderBytes = 24;
};

// Reads the log at `path` (a missing file is an empty scan). Its frames are
// sized by its header, or by `fallback_page_size` (the database's) when the
// header is unreadable. An error only when the file cannot be read.
Status scan_wal(const std::string& path, std::uint32_t fallback_page_size, WalScan* out);

}  // namespace orch::engine
