// File: database/file_lock.h
//
// An exclusive lock on a file (flock), held until the FileLock is destroyed
// or the process dies (the kernel releases it, even after kill -9): what
// keeps a single-instance role, such as the outbox relay of a SQLite
// database, to one process. Two FileLocks on one path conflict even within
// one process.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<herald::db::FileLock>> lock =
//       herald::db::FileLock::TryAcquire("herald.db.relay.lock");
//   if (!lock.ok()) return lock.status();  // FailedPrecondition: held
//   ... the role is ours while *lock lives ...
#ifndef HERALD_DATABASE_FILE_LOCK_H_
#define HERALD_DATABASE_FILE_LOCK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace herald {
namespace db {

class FileLock {
 public:
  // Creates `path` if needed and locks it without waiting:
  // FailedPrecondition when another holder has it, Unavailable when the
  // file cannot be opened.
  static absl::StatusOr<std::unique_ptr<FileLock>> TryAcquire(
      absl::string_view path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace db
}  // namespace herald

#endif  // HERALD_DATABASE_FILE_LOCK_H_
