#include "database/migrations.h"

#include <glog/logging.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace herald {
namespace db {

absl::Status Migrate(Database& db, absl::string_view component,
                     const std::vector<Migration>& migrations) {
  absl::Status s = db.Transact([](Transaction& tx) {
    return tx
        .Execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " component TEXT NOT NULL, version INTEGER NOT NULL,"
            " name TEXT NOT NULL, applied_at BIGINT NOT NULL,"
            " PRIMARY KEY (component, version))")
        .status();
  });
  // Two processes starting at once may both try to create the table.
  if (!s.ok() && s.code() != absl::StatusCode::kAlreadyExists) return s;
  // A database migrated by a newer version may hold data this one cannot
  // read (e.g. after a rollback of the deploy): refuse it rather than
  // misread it.
  int known = 0;
  for (const Migration& m : migrations) known = std::max(known, m.version);
  absl::StatusOr<std::vector<Row>> newest =
      db.ReadValue<std::vector<Row>>([&](Transaction& tx) {
        return tx.Query(
            "SELECT version, name FROM schema_migrations"
            " WHERE component = ? AND version > ? ORDER BY version DESC"
            " LIMIT 1",
            {std::string(component), static_cast<int64_t>(known)});
      });
  if (!newest.ok()) return newest.status();
  if (!newest->empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the database's ", component, " schema is at v", (*newest)[0].Int(0),
        " (", (*newest)[0].String(1), "), newer than this version knows (v",
        known,
        "): run a version of Herald at least as new as the one that "
        "migrated it"));
  }
  for (const Migration& m : migrations) {
    s = db.Transact([&](Transaction& tx) -> absl::Status {
      absl::StatusOr<std::vector<Row>> done = tx.Query(
          "SELECT 1 FROM schema_migrations WHERE component = ? AND version = ?",
          {std::string(component), static_cast<int64_t>(m.version)});
      if (!done.ok()) return done.status();
      if (!done->empty()) return absl::OkStatus();
      // Claim the version first: a concurrent migrator fails on the key.
      absl::StatusOr<int64_t> claimed = tx.Execute(
          "INSERT INTO schema_migrations(component, version, name, applied_at)"
          " VALUES (?, ?, ?, ?)",
          {std::string(component), static_cast<int64_t>(m.version), m.name,
           absl::ToUnixMillis(absl::Now())});
      if (!claimed.ok()) return claimed.status();
      const std::string& sql =
          db.dialect() == Dialect::kSqlite ? m.sqlite_sql : m.postgres_sql;
      for (absl::string_view statement : absl::StrSplit(sql, ';')) {
        statement = absl::StripAsciiWhitespace(statement);
        if (statement.empty()) continue;
        absl::StatusOr<int64_t> r = tx.Execute(statement);
        if (!r.ok()) {
          return absl::Status(
              r.status().code(),
              absl::StrCat("migration ", component, " v", m.version, " (",
                           m.name, "): ", r.status().message()));
        }
      }
      LOG(INFO) << "applied migration " << component << " v" << m.version
                << " (" << m.name << ")";
      return absl::OkStatus();
    });
    if (s.code() == absl::StatusCode::kAlreadyExists) continue;  // raced
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace db
}  // namespace herald
