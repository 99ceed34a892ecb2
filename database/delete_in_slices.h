// File: database/delete_in_slices.h
//
// Deletes many rows without holding writers up: a DELETE limited to one
// slice of rows per transaction, run until a transaction deletes fewer than
// a slice. For pruning tables that grow (idempotency keys, inbox claims).
//
// Example (the last placeholder is the slice size, appended here):
//
//   absl::StatusOr<int64_t> n = herald::db::DeleteInSlices(
//       *db,
//       "DELETE FROM inbox WHERE (consumer, event_id) IN"
//       " (SELECT consumer, event_id FROM inbox WHERE handled_at < ?"
//       " LIMIT ?)",
//       {cutoff_ms});
#ifndef HERALD_DATABASE_DELETE_IN_SLICES_H_
#define HERALD_DATABASE_DELETE_IN_SLICES_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "database/database.h"

namespace herald {
namespace db {

// Runs `delete_sql` with `params` and then the slice size as its last
// value, one transaction each time, until fewer than `slice` rows go;
// returns how many rows went in all.
absl::StatusOr<int64_t> DeleteInSlices(Database& db,
                                       absl::string_view delete_sql,
                                       std::vector<Value> params,
                                       int64_t slice = 5000);

}  // namespace db
}  // namespace herald

#endif  // HERALD_DATABASE_DELETE_IN_SLICES_H_
