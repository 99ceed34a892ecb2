// File: database/testing/postgres_server.h
//
// A throwaway PostgreSQL 15 server for tests: initdb in a fresh temporary
// directory (as user `postgres` when running as root, since initdb refuses
// root), started on a free loopback port with fsync off, stopped and removed
// by the destructor.
//
// Example:
//
//   if (!herald::db::testing::PostgresAvailable()) GTEST_SKIP() << "...";
//   auto server = herald::db::testing::PostgresServer::Start();
//   ASSERT_TRUE(server.ok()) << server.status();
//   auto db = herald::db::Database::Open((*server)->url());
#ifndef HERALD_DATABASE_TESTING_POSTGRES_SERVER_H_
#define HERALD_DATABASE_TESTING_POSTGRES_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace herald {
namespace db {
namespace testing {

// True when the PostgreSQL server binaries are installed.
bool PostgresAvailable();

class PostgresServer {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start();
  ~PostgresServer();

  // postgresql://postgres@127.0.0.1:PORT/herald_test
  const std::string& url() const { return url_; }
  int port() const { return port_; }

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
