// File: database/testing/postgres_server.h
//
// A throwaway PostgreSQL 15 server for tests: initdb in a fresh temporary
// directory (as user `postgres` when running as root, since initdb refuses
// root), started on a free loopback port with fsync off, stopped and removed
// by the destructor. Tests usually get one through ForEachBackend
// (backends.h), which shares one server per test binary and decides what a
// missing PostgreSQL means (skip, or fail under CI=true).
//
// The binaries are looked for in /usr/lib/postgresql/15/bin, or in the
// directory the environment variable POSTGRES_BIN_DIR names (e.g. to try
// a test without PostgreSQL: bazel test --test_env=POSTGRES_BIN_DIR=/none).
// Not a HERALD_* name: the services refuse unknown HERALD_* variables, and
// tests start service binaries with their environment.
//
// Example:
//
//   auto server = herald::db::testing::PostgresServer::Start();
//   ASSERT_TRUE(server.ok()) << server.status();
//   auto url = (*server)->CreateDatabase("orders");  // a fresh, empty one
//   auto db = herald::db::Database::Open(*url);
#ifndef HERALD_DATABASE_TESTING_POSTGRES_SERVER_H_
#define HERALD_DATABASE_TESTING_POSTGRES_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace herald {
namespace db {
namespace testing {

// True when the PostgreSQL server binaries are installed (and, when running
// as root, the user `postgres` exists to run them).
bool PostgresAvailable();

class PostgresServer {
 public:
  // Start()
  //
  // initdb, start, and create the database herald_test. FailedPrecondition
  // when PostgreSQL is not installed (the message names tools/setup.sh);
  // Internal when a step fails.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start();
  ~PostgresServer();

  // postgresql://postgres@127.0.0.1:PORT/herald_test
  const std::string& url() const { return url_; }
  int port() const { return port_; }

  // Execute()
  //
  // Runs `sql` on the herald_test database outside a transaction block (as
  // CREATE DATABASE and CREATE TABLESPACE must run). Unavailable when the
  // server cannot be reached, Internal when the statement fails.
  absl::Status Execute(absl::string_view sql);

  // CreateDatabase()
  //
  // Creates the empty database `name` (letters, digits, underscores) and
  // returns its URL.
  absl::StatusOr<std::string> CreateDatabase(absl::string_view name);

  // DropDatabase()
  //
  // Drops the database `name`, ending the sessions still connected to it.
  // OK when there is none.
  absl::Status DropDatabase(absl::string_view name);

  // Stops the server (fast shutdown) and starts it again on the same port,
  // keeping its data.
  absl::Status Restart();

  // Stop()
  //
  // Stops the server (fast shutdown: open sessions are terminated), keeping
  // its data directory and port, e.g. to test an outage. OK when stopped.
  absl::Status Stop();

  // StartAgain()
  //
  // Starts a stopped server again on the same port and data directory. OK
  // when running.
  absl::Status StartAgain();

 private:
  PostgresServer() = default;
  absl::Status StartServer();
  std::string dir_;
  std::string url_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace testing
}  // namespace db
}  // namespace herald

#endif  // HERALD_DATABASE_TESTING_POSTGRES_SERVER_H_
