#include "database/testing/sqlite_lock.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"

namespace herald {
namespace db {
namespace testing {

struct SqliteWriteLock::Connection {
  ~Connection() {
    if (locked) sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  sqlite3* db = nullptr;
  bool locked = false;
};

absl::StatusOr<std::unique_ptr<SqliteWriteLock>> SqliteWriteLock::Take(
    const std::string& path, absl::Duration wait) {
  auto connection = std::make_unique<Connection>();
  if (sqlite3_open(path.c_str(), &connection->db) != SQLITE_OK) {
    return absl::UnavailableError(absl::StrCat("cannot open ", path, ": ",
                                               sqlite3_errmsg(connection->db)));
  }
  sqlite3_busy_timeout(connection->db,
                       static_cast<int>(absl::ToInt64Milliseconds(wait)));
  if (sqlite3_exec(connection->db, "BEGIN EXCLUSIVE", nullptr, nullptr,
                   nullptr) != SQLITE_OK) {
    return absl::UnavailableError(absl::StrCat("cannot lock ", path, ": ",
                                               sqlite3_errmsg(connection->db)));
  }
  connection->locked = true;
  return std::unique_ptr<SqliteWriteLock>(
      new SqliteWriteLock(std::move(connection)));
}

SqliteWriteLock::SqliteWriteLock(std::unique_ptr<Connection> connection)
    : connection_(std::move(connection)) {}
SqliteWriteLock::~SqliteWriteLock() = default;

}  // namespace testing
}  // namespace db
}  // namespace herald
