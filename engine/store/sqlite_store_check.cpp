#include "engine/store/sqlite_store_check.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace orch::engine {

namespace {

constexpr std::size_t kDatabaseHeaderBytes = 100;
constexpr char kDatabaseMagic[16] = "SQLite format 3";  // and its NUL
constexpr std::uint32_t kMaxPageSizeMarker = 1;         // 65536 is stored as 1

std::uint32_t be32(const unsigned char* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

DatabaseFileScan scan_database(const std::string& path) {
  DatabaseFileScan scan;
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(path, ec);
  if (ec) return scan;
  scan.present = true;
  scan.bytes = bytes;
  if (bytes < kDatabaseHeaderBytes) return scan;
  unsigned char h[kDatabaseHeaderBytes];
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(h), sizeof h)) return scan;
  if (std::memcmp(h, kDatabaseMagic, sizeof kDatabaseMagic) != 0) return scan;
  const std::uint32_t raw = std::uint32_t{h[16]} << 8 | h[17];
  scan.page_size = raw == kMaxPageSizeMarker ? 65536 : raw;
  // The size at offset 28 counts only while the change counter (24) equals
  // the version-valid-for number (92); otherwise SQLite goes by the file.
  if (be32(h + 24) == be32(h + 92)) scan.header_pages = be32(h + 28);
  return scan;
}

std::string str(std::uint64_t v) { return std::to_string(v); }

// Pages 1..expected that neither the file (its first `in_file` pages) nor
// the replayed log frames hold.
std::uint64_t count_missing(std::uint64_t expected, std::uint64_t in_file,
                            const std::vector<std::uint32_t>& in_log) {
  if (expected <= in_file) return 0;
  const auto from = std::upper_bound(in_log.begin(), in_log.end(), in_file);
  const auto to = std::upper_bound(from, in_log.end(), expected);
  return expected - in_file - static_cast<std::uint64_t>(to - from);
}

void judge_files(StoreCheck* c) {
  const WalScan& wal = c->wal;
  const std::uint32_t page_size = c->database.page_size ? c->database.page_size : wal.page_size;
  if (!c->database_openable() && wal.replayed > 0) {
    c->lost.push_back("the database file is " +
                      std::string(c->database.present ? "empty" : "missing") +
                      " but its log holds " + str(wal.replayed) + " committed frames of a " +
                      str(wal.database_pages) + "-page database, which SQLite would delete");
  }
  c->pages_expected = wal.replayed > 0 ? wal.database_pages : c->database.header_pages;
  c->pages_in_file = page_size ? c->database.bytes / page_size : 0;
  if (c->database_openable() && page_size) {
    c->pages_missing = count_missing(c->pages_expected, c->pages_in_file, wal.pages);
    if (c->pages_missing > 0)
      c->lost.push_back(
          "the database file holds " + str(c->pages_in_file) + " pages of " +
          str(c->pages_expected) + " (" +
          (wal.replayed > 0 ? "as its log's last commit says" : "as its header says") + "), and " +
          str(c->pages_missing) + " of the others are not in the log");
  }
  if (wal.durable_commits_dropped > 0) {
    c->lost.push_back(
        "the log has a bad frame at byte " + str(wal.frame_offset(wal.first_bad_frame)) +
        " (frame " + str(wal.first_bad_frame) + " of " + str(wal.frames) + "); SQLite drops the " +
        str(wal.dropped) + " frames after its last good commit, " +
        str(wal.durable_commits_dropped) + " of them commits that later frames show were durable");
  } else if (wal.dropped > 0) {
    c->warnings.push_back("the log ends in " + str(wal.dropped) +
                          " frames of an unfinished or torn commit, which SQLite drops (frame " +
                          str(wal.replayed + 1) + " on, byte " +
                          str(wal.frame_offset(wal.replayed + 1)) + ")");
  }
  const bool new_store = !c->database.present && !wal.present;
  if (c->mark.state == HighWaterMark::State::absent && !new_store)
    c->warnings.push_back("no high-water mark (" + HighWaterMark::path_for(c->db_path) +
                          "): a store from before marks were kept, or the mark was removed; "
                          "missing commits cannot be measured this time");
  if (c->mark.state == HighWaterMark::State::unreadable)
    c->warnings.push_back("the high-water mark " + HighWaterMark::path_for(c->db_path) +
                          " is unreadable; missing commits cannot be measured this time");
}

}  // namespace

Status check_store_files(const std::string& db_path, StoreCheck* out) {
  *out = StoreCheck{};
  out->db_path = db_path;
  out->database = scan_database(db_path);
  if (Status s = scan_wal(db_path + "-wal", out->database.page_size, &out->wal); !s) return s;
  out->mark = HighWaterMark::read(HighWaterMark::path_for(db_path));
  judge_files(out);
  return Status::ok();
}

void compare_with_store(HighWaterMark::Value store, StoreCheck* check) {
  check->compared = true;
  check->store = store;
  const HighWaterMark::Reading& mark = check->mark;
  if (mark.state != HighWaterMark::State::readable || store.commit >= mark.value.commit) return;
  const std::uint64_t missing = mark.value.commit - store.commit;
  check->lost.push_back("the store holds commits up to " + str(store.commit) + " (journal offset " +
                        std::to_string(store.offset) + ") but the high-water mark says commit " +
                        str(mark.value.commit) + " (offset " + std::to_string(mark.value.offset) +
                        ") was durable: " + str(missing) +
                        (missing == 1 ? " commit is missing" : " commits are missing"));
}

std::vector<std::pair<std::string, std::int64_t>> StoreCheck::figures() const {
  const bool marked = mark.state == HighWaterMark::State::readable;
  auto i = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };
  return {
      {"hwm_commit", marked ? i(mark.value.commit) : -1},
      {"hwm_offset", marked ? mark.value.offset : -1},
      {"store_commit", compared ? i(store.commit) : -1},
      {"store_offset", compared ? store.offset : -1},
      {"wal_bytes", i(wal.bytes)},
      {"wal_frames", i(wal.frames)},
      {"wal_frames_replayed", i(wal.replayed)},
      {"wal_frames_dropped", i(wal.dropped)},
      {"wal_durable_commits_dropped", i(wal.durable_commits_dropped)},
      {"wal_frames_stale", i(wal.stale)},
      {"wal_first_bad_byte", wal.first_bad_frame ? i(wal.frame_offset(wal.first_bad_frame)) : -1},
      {"db_bytes", database.present ? i(database.bytes) : -1},
      {"db_pages_expected", i(pages_expected)},
      {"db_pages_in_file", i(pages_in_file)},
      {"db_pages_missing", i(pages_missing)},
  };
}

nlohmann::json StoreCheck::log_fields() const {
  nlohmann::json fields = {{"store", db_path}};
  for (const auto& [name, value] : figures()) fields[name] = value;
  if (!lost.empty()) fields["lost"] = lost;
  if (!warnings.empty()) fields["warnings"] = warnings;
  return fields;
}

}  // namespace orch::engine
