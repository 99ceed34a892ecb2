// File: database/testing/helpers.h
//
// Small synchronous helpers for tests of db::Database and its users.
//
// Example:
//
//   absl::Status s = herald::db::testing::TransactAsyncAndWait(
//       *db, [](herald::db::Transaction& tx) {
//         return tx.Execute("INSERT INTO items(id) VALUES (1)").status();
//       });
//   EXPECT_EQ(herald::db::testing::CountRows(*db, "items"), 1);
#ifndef HERALD_DATABASE_TESTING_HELPERS_H_
#define HERALD_DATABASE_TESTING_HELPERS_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "database/database.h"

namespace herald {
namespace db {
namespace testing {

// TransactAsyncAndWait()
//
// Runs `body` with TransactAsync and returns the outcome its `done` reported;
// DeadlineExceeded when that takes over a minute.
absl::Status TransactAsyncAndWait(
    Database& db, std::function<absl::Status(Transaction&)> body);

// CountRows()
//
// SELECT COUNT(*) FROM `table`, read with Read(); records a test failure
// and returns -1 when the query fails.
int64_t CountRows(Database& db, absl::string_view table);

}  // namespace testing
}  // namespace db
}  // namespace herald

#endif  // HERALD_DATABASE_TESTING_HELPERS_H_
