// File: database/testing/backends.h
//
// Runs a test once per database backend, SQLite and PostgreSQL, each run with
// fresh, empty databases of its own: a SQLite file in TEST_TMPDIR, or a
// database on the one throwaway PostgreSQL server the whole test binary
// shares (started on first use, stopped and removed when the tests end).
//
// Without PostgreSQL installed the PostgreSQL runs are skipped, so that
// `bazel test //...` passes on a laptop that has only SQLite. With the
// environment variable CI=true they fail instead, naming tools/setup.sh: CI
// must not report PASSED for tests it did not run. (.ci/run exports CI=true
// and .bazelrc passes CI through to tests.)
//
// Example:
//
//   using herald::db::testing::Backend;
//   using herald::db::testing::ForEachBackend;
//
//   class OutboxTest : public ForEachBackend {
//    protected:
//     void SetUp() override {
//       ForEachBackend::SetUp();  // first: may skip or fail the test
//       if (IsSkipped() || HasFatalFailure()) return;
//       auto db = herald::db::Database::Open(DatabaseUrl());
//       ASSERT_TRUE(db.ok()) << db.status();
//       ...
//     }
//   };
//
//   TEST_P(OutboxTest, PublishesEveryRow) {
//     if (backend() == Backend::kPostgres) ...
//   }
//
//   INSTANTIATE_TEST_SUITE_P(Backends, OutboxTest,
//                            ::testing::ValuesIn(AllBackends()),
//                            BackendParamName);
//
// A suite for one backend only (an outage that stops the PostgreSQL server)
// is instantiated with ::testing::Values(Backend::kPostgres).
#ifndef HERALD_DATABASE_TESTING_BACKENDS_H_
#define HERALD_DATABASE_TESTING_BACKENDS_H_

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "database/testing/postgres_server.h"

namespace herald {
namespace db {
namespace testing {

// Backend
//
// The database implementations a test runs against.
enum class Backend { kSqlite, kPostgres };

// AllBackends()
//
// Every backend, for ::testing::ValuesIn().
std::vector<Backend> AllBackends();

// BackendName()
//
// "Sqlite", "Postgres".
std::string BackendName(Backend backend);

// BackendParamName()
//
// Names a test after its backend (`.../Sqlite`, `.../Postgres`), as the last
// argument of INSTANTIATE_TEST_SUITE_P.
std::string BackendParamName(const ::testing::TestParamInfo<Backend>& info);

// Prints a Backend by its name in gtest messages.
void PrintTo(Backend backend, std::ostream* os);

// CiRequiresEveryBackend()
//
// True when the environment variable CI is "true": a backend that is not
// installed fails the test instead of skipping it.
bool CiRequiresEveryBackend();

// ForEachBackend
//
// A value-parameterized fixture (the parameter is the Backend) that gives
// each test fresh databases of its backend. See the file comment.
class ForEachBackend : public ::testing::TestWithParam<Backend> {
 protected:
  ForEachBackend() = default;

  // Starts a PostgreSQL server the test stopped again, then drops the
  // test's PostgreSQL databases. It runs after the derived fixture's members
  // are gone, so their connections are closed by then.
  ~ForEachBackend() override;

  // SetUp()
  //
  // For PostgreSQL, starts the shared server on first use. Skips the test when
  // PostgreSQL is not installed, or fails it under CI=true; fails it when the
  // server does not start. A derived SetUp() calls this first and returns when
  // IsSkipped() || HasFatalFailure().
  void SetUp() override;

  // The backend this test runs against.
  Backend backend() const { return GetParam(); }

  // DatabaseUrl()
  //
  // The URL of this test's database `name` (letters, digits, '_', '-'; in
  // lower case and with '_' for '-' on PostgreSQL), created empty on first
  // use; later calls with the same name return the same URL, other names
  // give other databases (e.g. one per service):
  //
  //   sqlite:<TEST_TMPDIR>/<n>_<name>.db
  //   postgresql://postgres@127.0.0.1:<port>/t<n>_<name>
  //
  // Records a failure and returns "" when the database cannot be made.
  std::string DatabaseUrl(absl::string_view name = "test");

  // postgres_server()
  //
  // The shared PostgreSQL server (nullptr for SQLite), e.g. to Stop() it
  // and StartAgain() for an outage. A server left stopped is started again
  // after the test.
  PostgresServer* postgres_server();

 private:
  std::map<std::string, std::string, std::less<>> urls_;  // by name
  std::vector<std::string> postgres_databases_;           // to drop
};

}  // namespace testing
}  // namespace db
}  // namespace herald

#endif  // HERALD_DATABASE_TESTING_BACKENDS_H_
