// File: database/sqlite_database.h
//
// The SQLite implementation of db::Database: one connection in WAL mode with
// durable commits (synchronous=FULL), and group commit: one committer thread
// runs every transaction; those that arrive while it commits are run
// together, each in its own savepoint, and made durable by one COMMIT (one
// fsync), so a busy gateway pays one disk flush per batch instead of per
// request. A body's error rolls back only its own savepoint.
//
// Durability ("full", the default) is pipelined: a batch commits without a
// flush, a syncer thread then fdatasyncs the WAL, and a reporter thread
// runs the batch's callbacks, while the committer already runs the next
// batch and the syncer flushes the one after. What a caller is
// told is committed is on disk, and reads (Database::Read, on a reader
// connection of their own) wait until what they may see is on disk too.
#ifndef HERALD_DATABASE_SQLITE_DATABASE_H_
#define HERALD_DATABASE_SQLITE_DATABASE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "database/database.h"

namespace herald {
namespace db {

struct SqliteOptions {
  std::string path;
  // From the URL query `?synchronous=full|normal|off`:
  // "full" (durable: every reported commit survives a power loss);
  // "normal" (survives a crash of the process; a power loss may lose the
  // latest commits); "off" (no flushes at all: a power loss or a crash of
  // the machine may lose commits or corrupt the file; for throwaway data).
  std::string synchronous = "full";
  // How long a statement waits for another process's lock.
  int busy_timeout_ms = 5000;
  // Most transactions one COMMIT covers.
  int max_group = 256;
};

// Opens (creating) the database file. Options from "sqlite:PATH[?k=v&...]".
absl::StatusOr<std::unique_ptr<Database>> OpenSqlite(absl::string_view url);
absl::StatusOr<std::unique_ptr<Database>> OpenSqlite(
    const SqliteOptions& options);

}  // namespace db
}  // namespace herald

#endif  // HERALD_DATABASE_SQLITE_DATABASE_H_
