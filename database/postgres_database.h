// File: database/postgres_database.h
//
// The PostgreSQL implementation of db::Database over libpq: a small pool of
// connections (`?pool_size=N` in the URL, default 4; Herald-only options are
// removed before the URL reaches libpq), `?` placeholders rewritten to `$n`,
// statements with parameters prepared once per connection (`?prepare=false`
// behind a pooler that moves transactions between server sessions), and
// transactions retried on serialization failures and deadlocks.
#ifndef HERALD_DATABASE_POSTGRES_DATABASE_H_
#define HERALD_DATABASE_POSTGRES_DATABASE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "database/database.h"

namespace herald {
namespace db {

absl::StatusOr<std::unique_ptr<Database>> OpenPostgres(absl::string_view url);

// "SELECT ? , '?'" -> "SELECT $1 , '?'": placeholders outside quotes.
std::string RewritePlaceholders(absl::string_view sql);

}  // namespace db
}  // namespace herald

#endif  // HERALD_DATABASE_POSTGRES_DATABASE_H_
