// File: database/settings.h
//
// Which database a service uses, as a settings key (base/settings.h):
//
//   db: "sqlite:herald.db"            # HERALD_DB, --db (database/flags.h)
//   db: "postgresql://herald@db/herald?pool_size=8"
//
// Example:
//
//   herald::db::DatabaseSettings database;
//   absl::Status loaded =
//       herald::settings::Load(herald::db::DatabaseKeys(database), sources);
//   auto db = herald::db::Database::Open(database.url);
#ifndef HERALD_DATABASE_SETTINGS_H_
#define HERALD_DATABASE_SETTINGS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "base/settings.h"

namespace herald {
namespace db {

struct DatabaseSettings {
  // "sqlite:PATH[?synchronous=full|normal|off&busy_timeout_ms=N]" or
  // "postgresql://...[?pool_size=N]". Workers default to their own file
  // (sqlite:<worker>.db).
  std::string url = "sqlite:herald.db";
};

std::vector<settings::Key> DatabaseKeys(DatabaseSettings& settings);

// Checks "sqlite:PATH" or "postgresql://..."/"postgres://...".
absl::Status ValidateDbUrl(absl::string_view url);

}  // namespace db
}  // namespace herald

#endif  // HERALD_DATABASE_SETTINGS_H_
