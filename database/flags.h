// File: database/flags.h
//
// The database's command-line flag, for binaries that load its settings
// (base/flags.h, database/settings.h):
//
//   --db=URL   sqlite:PATH or postgresql://...
//
// Example (in main, after InitProcess):
//
//   settings::Sources sources = SourcesFromFlags(
//       {{"service", "gateway"}}, {MessagingFlags(), db::DatabaseFlags()});
#ifndef HERALD_DATABASE_FLAGS_H_
#define HERALD_DATABASE_FLAGS_H_

#include <vector>

#include "base/flags.h"

namespace herald {
namespace db {

// --db, when given.
std::vector<FlagOverride> DatabaseFlags();

}  // namespace db
}  // namespace herald

#endif  // HERALD_DATABASE_FLAGS_H_
