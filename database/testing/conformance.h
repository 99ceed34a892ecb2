// File: database/testing/conformance.h
//
// The conformance suite of db::Database: the tests every implementation must
// pass, whatever its backend (transactions commit or roll back as a whole,
// values round-trip, a unique violation is AlreadyExists, InsertReturningId,
// TransactAsync, Read, Ping, migrations, the work's own errors not marked
// DependencyOutage...). They are value-parameterized tests of
// DatabaseConformanceTest, defined once here against ForEachBackend's
// databases (a fresh, empty one per test, opened with Database::Open), and
// instantiated by the test binary that links this library, for the backends
// it wants. A new backend joins Backend (backends.h) and passes this suite.
//
// Tests of one backend's own behaviour (SQLite locks, a PostgreSQL server
// stopped and started) stay with that backend's tests.
//
// Example (database/database_test.cc; BUILD: deps on
// //database/testing:conformance, which is alwayslink):
//
//   namespace herald::db::testing {
//   INSTANTIATE_TEST_SUITE_P(Backends, DatabaseConformanceTest,
//                            ::testing::ValuesIn(AllBackends()),
//                            BackendParamName);
//   }
#ifndef HERALD_DATABASE_TESTING_CONFORMANCE_H_
#define HERALD_DATABASE_TESTING_CONFORMANCE_H_

#include <cstdint>
#include <memory>

#include "database/database.h"
#include "database/testing/backends.h"

namespace herald {
namespace db {
namespace testing {

// DatabaseConformanceTest
//
// The suite's fixture: each test gets `db_`, open on a fresh database of its
// backend, holding the empty table
//
//   items (id BIGINT PRIMARY KEY, name TEXT UNIQUE,
//          score DOUBLE PRECISION, payload BYTEA)
class DatabaseConformanceTest : public ForEachBackend {
 protected:
  void SetUp() override;

  // Rows in `items`.
  int64_t Count();

  std::unique_ptr<Database> db_;
};

}  // namespace testing
}  // namespace db
}  // namespace herald

#endif  // HERALD_DATABASE_TESTING_CONFORMANCE_H_
