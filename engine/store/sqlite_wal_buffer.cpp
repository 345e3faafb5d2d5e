#include "engine/store/sqlite_wal_buffer.h"

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <new>
#include <string>

namespace orch::engine {

namespace {

constexpr const char* kName = "orch-wal-buffer";
// At most this many bytes per write handed on: the unix VFS masks a
// write's length with 0x1ffff (seekAndWriteFd), so a longer one would be
// cut short and reported as SQLITE_FULL. A group commit of ~30 frames of
// 4,120 bytes goes in one or two writes.
constexpr std::size_t kMaxBuffered = 0x1ffff;

sqlite3_vfs* g_real = nullptr;  // the default VFS, set once before registering
std::atomic<std::uint64_t> g_writes_in{0};
std::atomic<std::uint64_t> g_writes_out{0};

// The file SQLite allocates (szOsFile bytes): our part, then the real VFS's
// file object.
struct File {
  sqlite3_file base;  // first: SQLite sees this
  sqlite3_file* real;
  // The writes not yet handed on, for a file opened as a WAL (null for the
  // others, whose writes go straight through):
  // `pending` holds the bytes that start at file offset `start`.
  std::string* pending;
  sqlite3_int64 start;
};

File* of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }

// Hands the pending bytes to the real file as one write.
int flush(File* f) {
  if (!f->pending || f->pending->empty()) return SQLITE_OK;
  g_writes_out.fetch_add(1, std::memory_order_relaxed);
  const int rc = f->real->pMethods->xWrite(f->real, f->pending->data(),
                                           static_cast<int>(f->pending->size()), f->start);
  f->pending->clear();
  return rc;
}

int x_close(sqlite3_file* file) {
  File* f = of(file);
  const int flushed = flush(f);
  const int rc = f->real->pMethods->xClose(f->real);
  delete f->pending;
  f->pending = nullptr;
  return flushed != SQLITE_OK ? flushed : rc;
}

int x_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xRead(f->real, out, amount, offset);
}

int x_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  File* f = of(file);
  if (!f->pending) return f->real->pMethods->xWrite(f->real, data, amount, offset);
  g_writes_in.fetch_add(1, std::memory_order_relaxed);
  // SQLite writes a frame header or a page at a time; anything longer than
  // one gathered write may carry goes on as it came.
  if (static_cast<std::size_t>(amount) > kMaxBuffered) {
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    g_writes_out.fetch_add(1, std::memory_order_relaxed);
    return f->real->pMethods->xWrite(f->real, data, amount, offset);
  }
  std::string& pending = *f->pending;
  const bool follows =
      !pending.empty() && offset == f->start + static_cast<sqlite3_int64>(pending.size());
  if (!follows || pending.size() + static_cast<std::size_t>(amount) > kMaxBuffered) {
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    f->start = offset;
  }
  try {
    pending.append(static_cast<const char*>(data), static_cast<std::size_t>(amount));
  } catch (const std::bad_alloc&) {
    return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xTruncate(f->real, size);
}

int x_sync(sqlite3_file* file, int flags) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xSync(f->real, flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileSize(f->real, size);
}

int x_lock(sqlite3_file* file, int level) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xLock(f->real, level);
}

int x_unlock(sqlite3_file* file, int level) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xUnlock(f->real, level);
}

int x_check_reserved_lock(sqlite3_file* file, int* out) {
  File* f = of(file);
  return f->real->pMethods->xCheckReservedLock(f->real, out);
}

int x_file_control(sqlite3_file* file, int op, void* arg) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileControl(f->real, op, arg);
}

int x_sector_size(sqlite3_file* file) {
  File* f = of(file);
  return f->real->pMethods->xSectorSize(f->real);
}

int x_device_characteristics(sqlite3_file* file) {
  File* f = of(file);
  return f->real->pMethods->xDeviceCharacteristics(f->real);
}

// Shared memory (the WAL index) and memory mapping go to the real file as
// they are: they hold no file data of the WAL's.
int x_shm_map(sqlite3_file* file, int page, int page_size, int extend, void volatile** out) {
  File* f = of(file);
  return f->real->pMethods->xShmMap(f->real, page, page_size, extend, out);
}

int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  File* f = of(file);
  return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

void x_shm_barrier(sqlite3_file* file) {
  File* f = of(file);
  f->real->pMethods->xShmBarrier(f->real);
}

int x_shm_unmap(sqlite3_file* file, int delete_flag) {
  File* f = of(file);
  return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFetch(f->real, offset, amount, out);
}

int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
  File* f = of(file);
  return f->real->pMethods->xUnfetch(f->real, offset, p);
}

const sqlite3_io_methods kMethods = {3,
                                     x_close,
                                     x_read,
                                     x_write,
                                     x_truncate,
                                     x_sync,
                                     x_file_size,
                                     x_lock,
                                     x_unlock,
                                     x_check_reserved_lock,
                                     x_file_control,
                                     x_sector_size,
                                     x_device_characteristics,
                                     x_shm_map,
                                     x_shm_lock,
                                     x_shm_barrier,
                                     x_shm_unmap,
                                     x_fetch,
                                     x_unfetch};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  File* f = of(file);
  f->base.pMethods = nullptr;  // SQLite calls xClose only when this is set
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  f->pending = nullptr;
  f->start = 0;
  const int rc = g_real->xOpen(g_real, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  // The default VFS ("unix") implements version 3 of the methods; a real
  // file with fewer is passed over rather than given methods it lacks.
  if (!f->real->pMethods || f->real->pMethods->iVersion < 3) {
    if (f->real->pMethods) f->real->pMethods->xClose(f->real);
    return SQLITE_CANTOPEN;
  }
  if (flags & SQLITE_OPEN_WAL) {
    try {
      f->pending = new std::string();
    } catch (const std::bad_alloc&) {
      f->real->pMethods->xClose(f->real);
      return SQLITE_NOMEM;
    }
  }
  f->base.pMethods = &kMethods;
  return SQLITE_OK;
}

// The rest of the VFS is the real one's.
int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_real->xDelete(g_real, name, sync_dir);
}
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_real->xAccess(g_real, name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_real->xFullPathname(g_real, name, n, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) { return g_real->xDlOpen(g_real, name); }
void x_dl_error(sqlite3_vfs*, int n, char* out) { g_real->xDlError(g_real, n, out); }
void (*x_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_real->xDlSym(g_real, handle, symbol);
}
void x_dl_close(sqlite3_vfs*, void* handle) { g_real->xDlClose(g_real, handle); }
int x_randomness(sqlite3_vfs*, int n, char* out) { return g_real->xRandomness(g_real, n, out); }
int x_sleep(sqlite3_vfs*, int micros) { return g_real->xSleep(g_real, micros); }
int x_current_time(sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); }
int x_get_last_error(sqlite3_vfs*, int n, char* out) {
  return g_real->xGetLastError(g_real, n, out);
}
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_real->xCurrentTimeInt64(g_real, out);
}

sqlite3_vfs g_vfs;

}  // namespace

const char* wal_buffer_vfs() {
  static std::once_flag once;
  static bool registered = false;
  std::call_once(once, [] {
    g_real = sqlite3_vfs_find(nullptr);
    if (!g_real || g_real->iVersion < 2) return;
    g_vfs = sqlite3_vfs{};
    g_vfs.iVersion = 2;
    g_vfs.szOsFile = static_cast<int>(sizeof(File)) + g_real->szOsFile;
    g_vfs.mxPathname = g_real->mxPathname;
    g_vfs.zName = kName;
    g_vfs.xOpen = x_open;
    g_vfs.xDelete = x_delete;
    g_vfs.xAccess = x_access;
    g_vfs.xFullPathname = x_full_pathname;
    g_vfs.xDlOpen = x_dl_open;
    g_vfs.xDlError = x_dl_error;
    g_vfs.xDlSym = x_dl_sym;
    g_vfs.xDlClose = x_dl_close;
    g_vfs.xRandomness = x_randomness;
    g_vfs.xSleep = x_sleep;
    g_vfs.xCurrentTime = x_current_time;
    g_vfs.xGetLastError = x_get_last_error;
    g_vfs.xCurrentTimeInt64 = x_current_time_int64;
    registered = sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0) == SQLITE_OK;
  });
  // Without it (a default VFS too old to wrap), callers get SQLite's default.
  return registered ? kName : nullptr;
}

WalBufferCounts wal_buffer_counts() {
  return {g_writes_in.load(std::memory_order_relaxed),
          g_writes_out.load(std::memory_order_relaxed)};
}

}  // namespace orch::engine
