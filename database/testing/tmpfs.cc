#include "database/testing/tmpfs.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace herald {
namespace db {
namespace testing {

absl::StatusOr<std::unique_ptr<Tmpfs>> Tmpfs::Mount(int64_t size_bytes) {
  char pattern[] = "/tmp/herald-tmpfs-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create a mount point: ", std::strerror(errno)));
  }
  std::string options = absl::StrCat("size=", size_bytes, ",mode=0777");
  if (mount("tmpfs", pattern, "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) !=
      0) {
    const int error = errno;
    rmdir(pattern);
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot mount a tmpfs on ", pattern, ": ", std::strerror(error)));
  }
  std::unique_ptr<Tmpfs> fs(new Tmpfs(pattern));
  fs->size_bytes_ = size_bytes;
  return fs;
}

Tmpfs::~Tmpfs() {
  if (umount2(path_.c_str(), MNT_DETACH) == 0) rmdir(path_.c_str());
}

absl::Status Tmpfs::Resize(int64_t size_bytes) {
  size_bytes_ = size_bytes;
  return Remount(read_only_ ? "ro" : "rw");
}

absl::Status Tmpfs::SetReadOnly(bool read_only) {
  read_only_ = read_only;
  return Remount(read_only_ ? "ro" : "rw");
}

absl::Status Tmpfs::Remount(const std::string& mode) {
  std::string options = absl::StrCat("size=", size_bytes_);
  unsigned long flags = MS_REMOUNT | MS_NOSUID | MS_NODEV;
  if (mode == "ro") flags |= MS_RDONLY;
  if (mount("tmpfs", path_.c_str(), "tmpfs", flags, options.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot remount ", path_, " (",
                                            mode, ", ", options,
                                            "): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace testing
}  // namespace db
}  // namespace herald
