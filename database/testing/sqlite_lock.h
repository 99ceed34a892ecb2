// File: database/testing/sqlite_lock.h
//
// Holds the write lock of a SQLite file from a connection of its own, as
// another process would, until destroyed: the database is then "locked" for
// everyone else (SQLITE_BUSY), which the database layer reports as a
// dependency outage. For tests of what a locked database does to workers.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<SqliteWriteLock>> lock =
//       SqliteWriteLock::Take(path);
//   ASSERT_TRUE(lock.ok()) << lock.status();
//   ... the workers wait ...
//   lock->reset();  // released
#ifndef HERALD_DATABASE_TESTING_SQLITE_LOCK_H_
#define HERALD_DATABASE_TESTING_SQLITE_LOCK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace herald {
namespace db {
namespace testing {

class SqliteWriteLock {
 public:
  // Takes the write lock of the SQLite file at `path`, waiting up to `wait`
  // behind a writer that holds it.
  static absl::StatusOr<std::unique_ptr<SqliteWriteLock>> Take(
      const std::string& path, absl::Duration wait = absl::Seconds(10));
  // Releases the lock (nothing was written).
  ~SqliteWriteLock();

  SqliteWriteLock(const SqliteWriteLock&) = delete;
  SqliteWriteLock& operator=(const SqliteWriteLock&) = delete;

 private:
  struct Connection;
  explicit SqliteWriteLock(std::unique_ptr<Connection> connection);
  std::unique_ptr<Connection> connection_;
};

}  // namespace testing
}  // namespace db
}  // namespace herald

#endif  // HERALD_DATABASE_TESTING_SQLITE_LOCK_H_
