// File: database/database.h
//
// The one small database interface Herald's services share (the gateway's
// domain tables and outbox, the workers' inbox and effects), with a SQLite
// and a PostgreSQL implementation chosen by URL:
//
//   sqlite:PATH                 embedded file (WAL, durable commits)
//   postgresql://user@host/db   libpq (also postgres://)
//
// SQL uses `?` placeholders in both dialects. Work happens in transactions:
// the body runs, and commits when it returns OK; any error rolls back.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<herald::db::Database>> db =
//       herald::db::Database::Open("sqlite:herald.db");
//   absl::Status s = (*db)->Transact([&](herald::db::Transaction& tx) {
//     return tx.Execute("INSERT INTO users(id, email) VALUES (?, ?)",
//                       {id, email}).status();
//   });
//   // s is AlreadyExists if the email is taken (unique constraint).
//
// Outages. An error that means the database cannot be used right now,
// whatever the work, is marked herald::DependencyOutage()
// (base/dependency_outage.h), keeping its code and message, so that a
// consumer waits it out instead of counting it against the record:
//
//   PostgreSQL  cannot connect, connection lost; SQLSTATE class 08
//               (connection exception), 57P01/57P02/57P03 (shutting down,
//               crashed, starting up), 53 (disk full, out of memory, too
//               many connections; not 53400, a statement's own limit),
//               58 (system / I/O error)
//   SQLite      locked by another process after busy_timeout_ms and
//               Transact's retries (BUSY, LOCKED), FULL, IOERR, CANTOPEN,
//               NOMEM, READONLY (the file, not a Read body that writes);
//               the WAL's fdatasync failing with ENOSPC, EIO, EDQUOT,
//               EROFS or EACCES (DataLoss: committed, not durable)
//
// Not marked, because waiting does not help them: constraint violations,
// bad SQL or data, SQLITE_MISUSE, and conflicts with other writers that
// outlast Transact's retries (contention, not an outage).
#ifndef HERALD_DATABASE_DATABASE_H_
#define HERALD_DATABASE_DATABASE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace herald {
namespace db {

// True for the status of a transaction whose COMMIT was sent but whose
// outcome is unknown (see Database::Transact): it may have committed.
bool IsCommitOutcomeUnknown(const absl::Status& status);
absl::Status CommitOutcomeUnknown(absl::Status status);

// Binary data, stored as BLOB / BYTEA (text is stored as TEXT).
struct Bytes {
  std::string data;
};

// A bound parameter or a result column.
using Value = std::variant<std::nullptr_t, int64_t, double, std::string, Bytes>;

// One result row, columns in SELECT order.
class Row {
 public:
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
  size_t size() const { return values_.size(); }
  bool IsNull(size_t column) const;
  // 0 for NULL.
  int64_t Int(size_t column) const;
  // Text or bytes; "" for NULL.
  std::string String(size_t column) const;
  const Value& at(size_t column) const { return values_.at(column); }

 private:
  std::vector<Value> values_;
};

enum class Dialect { kSqlite, kPostgres };

class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual Dialect dialect() const = 0;
  // Runs a statement; returns the number of rows it changed. Errors:
  // AlreadyExists (unique constraint), FailedPrecondition (other
  // constraints), InvalidArgument (bad SQL or data), Unavailable (locked /
  // connection lost), Internal (disk full, I/O and other failures). Those
  // of a database that cannot be used right now (connection lost, locked,
  // disk full, I/O) are marked DependencyOutage (see the file comment).
  virtual absl::StatusOr<int64_t> Execute(
      absl::string_view sql, absl::Span<const Value> params = {}) = 0;
  // Runs a query and returns all its rows.
  virtual absl::StatusOr<std::vector<Row>> Query(
      absl::string_view sql, absl::Span<const Value> params = {}) = 0;
  // Runs an INSERT of one row into a table whose integer key `id_column`
  // the database generates, and returns the new key. (SQLite reads the
  // rowid, which is cheaper than RETURNING there; PostgreSQL appends
  // RETURNING id_column.)
  virtual absl::StatusOr<int64_t> InsertReturningId(
      absl::string_view sql, absl::Span<const Value> params,
      absl::string_view id_column) = 0;
};

// What Database::Listen returns: listening stops when it is destroyed.
class Listening {
 public:
  virtual ~Listening() = default;
};

class Database {
 public:
  // Opens `url` (see the file comment). InvalidArgument for an unknown
  // scheme, Unavailable when the database cannot be reached (marked
  // DependencyOutage: connection refused, file cannot be opened...).
  static absl::StatusOr<std::unique_ptr<Database>> Open(absl::string_view url);

  virtual ~Database() = default;
  virtual Dialect dialect() const = 0;

  // Runs `body` in one transaction: commit on OK, roll back on error (and
  // return it). A conflict with a concurrent writer (SQLite busy, PostgreSQL
  // serialization failure or deadlock) retries the whole body a few times;
  // a database that stays locked returns Unavailable (SQLite: marked
  // DependencyOutage, another process holds the file; PostgreSQL: not
  // marked, "transaction kept conflicting" is contention). A PostgreSQL
  // connection that broke is reconnected on the next call; while the
  // server stays unreachable, Unavailable marked DependencyOutage. The
  // body's own errors are returned as they are, marks included.
  //
  // A PostgreSQL COMMIT that fails because the connection broke is not
  // retried: the server may have committed before the answer was lost.
  // Transact returns Unavailable marked DependencyOutage and
  // IsCommitOutcomeUnknown: the caller resolves it (an Idempotency-Key
  // retried; an inbox that remembers the record). No free connection within
  // the URL's acquire_timeout_ms (default 2000) is Unavailable too.
  //
  // (SQLite commits on its own file: its outcome is always known.)
  virtual absl::Status Transact(
      const std::function<absl::Status(Transaction&)>& body) = 0;

  // TransactAsync()
  //
  // Like Transact, without blocking the caller: `body` runs later on a thread
  // of the database's own, and `done` runs once with the outcome, on such a
  // thread too. Keep `done` short (hand the result to your own executor) and
  // do not wait in it for another TransactAsync. On SQLite the body joins
  // the next group commit; on PostgreSQL it runs on one of pool_size threads.
  virtual void TransactAsync(std::function<absl::Status(Transaction&)> body,
                             std::function<void(absl::Status)> done) = 0;

  // Like Transact, for a body that returns a value.
  template <typename T>
  absl::StatusOr<T> TransactValue(
      const std::function<absl::StatusOr<T>(Transaction&)>& body) {
    absl::StatusOr<T> result = absl::UnknownError("transaction did not run");
    absl::Status status = Transact([&](Transaction& tx) {
      result = body(tx);
      return result.status();
    });
    if (!status.ok()) return status;
    return result;
  }

  // Read()
  //
  // Runs `body`, which only reads, on one consistent snapshot, and returns
  // its status. Reads may run alongside writes: on SQLite they use a reader
  // connection of their own, so they neither wait for a group commit nor
  // hold up the committer. A body that writes fails. (PostgreSQL: a
  // transaction from the pool, as Transact.)
  virtual absl::Status Read(
      const std::function<absl::Status(Transaction&)>& body) {
    return Transact(body);
  }

  // Like Read, for a body that returns a value.
  template <typename T>
  absl::StatusOr<T> ReadValue(
      const std::function<absl::StatusOr<T>(Transaction&)>& body) {
    absl::StatusOr<T> result = absl::UnknownError("read did not run");
    absl::Status status = Read([&](Transaction& tx) {
      result = body(tx);
      return result.status();
    });
    if (!status.ok()) return status;
    return result;
  }

  // True when a trivial query succeeds (for readiness probes).
  virtual bool Ping() = 0;

  // Listen()
  //
  // PostgreSQL: calls `on_notify(payload)` for each NOTIFY on `channel` (an
  // identifier), on a thread and a connection of its own, until the
  // returned Listening is destroyed. A lost connection is reconnected;
  // notifications sent meanwhile are lost, so keep polling as a fallback.
  // Unimplemented on SQLite (one process writes it).
  virtual absl::StatusOr<std::unique_ptr<Listening>> Listen(
      absl::string_view /*channel*/,
      std::function<void(absl::string_view payload)> /*on_notify*/) {
    return absl::UnimplementedError("LISTEN needs PostgreSQL");
  }

  // The database file (SQLite), "" for a server (PostgreSQL): what a
  // single-instance role locks (database/file_lock.h).
  virtual std::string file_path() const { return {}; }
};

}  // namespace db
}  // namespace herald

#endif  // HERALD_DATABASE_DATABASE_H_
