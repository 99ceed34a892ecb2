// File: database/migrations.h
//
// Versioned schema migrations per component ("gateway", "email-worker"...),
// recorded in `schema_migrations`. Each pending version runs in its own
// transaction, in order; running again applies nothing new.
//
// Example:
//
//   absl::Status s = herald::db::Migrate(*db, "gateway", {
//       {1, "payments", "CREATE TABLE payments (...)", "CREATE TABLE ..."},
//   });
#ifndef HERALD_DATABASE_MIGRATIONS_H_
#define HERALD_DATABASE_MIGRATIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "database/database.h"

namespace herald {
namespace db {

struct Migration {
  int version;
  std::string name;
  // Statements separated by ';' for each dialect.
  std::string sqlite_sql;
  std::string postgres_sql;
};

absl::Status Migrate(Database& db, absl::string_view component,
                     const std::vector<Migration>& migrations);

}  // namespace db
}  // namespace herald

#endif  // HERALD_DATABASE_MIGRATIONS_H_
