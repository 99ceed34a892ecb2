// File: database/internal/ignored_failure.h
//
// Shared by the backends, not part of the database API.
#ifndef HERALD_DATABASE_INTERNAL_IGNORED_FAILURE_H_
#define HERALD_DATABASE_INTERNAL_IGNORED_FAILURE_H_

#include "absl/status/status.h"

namespace herald {
namespace db {
namespace db_internal {

// A transaction body returned OK although one of its statements failed
// with `first`: that statement's error (its code and marks, such as
// DependencyOutage), saying the transaction was rolled back.
absl::Status IgnoredFailure(const absl::Status& first);

}  // namespace db_internal
}  // namespace db
}  // namespace herald

#endif  // HERALD_DATABASE_INTERNAL_IGNORED_FAILURE_H_
