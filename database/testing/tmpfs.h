// File: database/testing/tmpfs.h
//
// A small tmpfs mounted on a fresh directory, for tests that need a file
// system that really fills up (ENOSPC) or really is read-only (EROFS), and
// then recovers. Mounting needs CAP_SYS_ADMIN; without it Mount() fails and
// the test should skip.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<Tmpfs>> fs = Tmpfs::Mount(256 << 10);
//   if (!fs.ok()) GTEST_SKIP() << fs.status();
//   ... fill (*fs)->path(), see ENOSPC ...
//   ASSERT_TRUE((*fs)->Resize(4 << 20).ok());  // room again
#ifndef HERALD_DATABASE_TESTING_TMPFS_H_
#define HERALD_DATABASE_TESTING_TMPFS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace herald {
namespace db {
namespace testing {

class Tmpfs {
 public:
  // Mount()
  //
  // Mounts a tmpfs of `size_bytes` (mode 0777) on a new directory under
  // /tmp. FailedPrecondition when this process may not mount.
  static absl::StatusOr<std::unique_ptr<Tmpfs>> Mount(int64_t size_bytes);

  // Unmounts (lazily, should a file still be open) and removes the
  // directory.
  ~Tmpfs();

  const std::string& path() const { return path_; }

  // Resize()
  //
  // Changes the size limit, keeping the files (e.g. to make room again).
  absl::Status Resize(int64_t size_bytes);

  // SetReadOnly()
  //
  // Remounts read-only (writes fail with EROFS) or read-write again.
  // Remounting read-only fails while a file is open for writing.
  absl::Status SetReadOnly(bool read_only);

 private:
  explicit Tmpfs(std::string path) : path_(std::move(path)) {}
  absl::Status Remount(const std::string& options);

  std::string path_;
  int64_t size_bytes_ = 0;
  bool read_only_ = false;
};

}  // namespace testing
}  // namespace db
}  // namespace herald

#endif  // HERALD_DATABASE_TESTING_TMPFS_H_
