#include "database/testing/postgres_server.h"

#include <netinet/in.h>
#include <postgresql/libpq-fe.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/testing/free_port.h"

namespace herald {
namespace db {
namespace testing {
namespace {

// Where initdb, pg_ctl and createdb are.
std::string BinDir() {
  const char* dir = std::getenv("POSTGRES_BIN_DIR");
  return dir != nullptr && *dir != '\0' ? dir : "/usr/lib/postgresql/15/bin";
}

// Runs a shell command as the server's owner; returns its exit status.
int RunAsOwner(const std::string& command) {
  std::string full = geteuid() == 0
                         ? absl::StrCat("runuser -u postgres -- ", command)
                         : command;
  return std::system(absl::StrCat(full, " >/dev/null 2>&1").c_str());
}

}  // namespace

bool PostgresAvailable() {
  return std::filesystem::exists(absl::StrCat(BinDir(), "/initdb")) &&
         (geteuid() != 0 || std::system("id postgres >/dev/null 2>&1") == 0);
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  if (!PostgresAvailable()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "PostgreSQL 15 is not installed (no ", BinDir(), "/initdb",
        geteuid() == 0 ? " or no user postgres" : "", "): run tools/setup.sh"));
  }
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  // Outside TEST_TMPDIR: the postgres user must be able to reach it.
  char pattern[] = "/tmp/herald-pg-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    return absl::InternalError("cannot create a temporary directory");
  }
  server->dir_ = pattern;
  if (geteuid() == 0 &&
      std::system(absl::StrCat("chown postgres ", server->dir_).c_str()) != 0) {
    return absl::InternalError("cannot chown the data directory to postgres");
  }
  if (RunAsOwner(absl::StrCat(BinDir(), "/initdb -D ", server->dir_,
                              "/data -U postgres -A trust --no-sync")) != 0) {
    return absl::InternalError("initdb failed");
  }
  server->port_ = FreePort();
  absl::Status started = server->StartServer();
  if (!started.ok()) return started;
  if (RunAsOwner(absl::StrCat(BinDir(), "/createdb -h 127.0.0.1 -p ",
                              server->port_, " -U postgres herald_test")) !=
      0) {
    return absl::InternalError("createdb failed");
  }
  server->url_ = absl::StrCat("postgresql://postgres@127.0.0.1:", server->port_,
                              "/herald_test");
  return server;
}

absl::Status PostgresServer::StartServer() {
  std::string options = absl::StrCat(
      "-c listen_addresses=127.0.0.1 -c port=", port_,
      " -c unix_socket_directories=", dir_,
      " -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
  if (RunAsOwner(absl::StrCat(BinDir(), "/pg_ctl -D ", dir_, "/data -l ", dir_,
                              "/log -w -o '", options, "' start")) != 0) {
    return absl::InternalError(
        absl::StrCat("pg_ctl start failed; see ", dir_, "/log"));
  }
  running_ = true;
  return absl::OkStatus();
}

absl::Status PostgresServer::Stop() {
  if (!running_) return absl::OkStatus();
  running_ = false;
  if (RunAsOwner(absl::StrCat(BinDir(), "/pg_ctl -D ", dir_,
                              "/data -m fast -w stop")) != 0) {
    return absl::InternalError("pg_ctl stop failed");
  }
  return absl::OkStatus();
}

absl::Status PostgresServer::StartAgain() {
  if (running_) return absl::OkStatus();
  return StartServer();
}

absl::Status PostgresServer::Restart() {
  absl::Status s = Stop();
  if (!s.ok()) return s;
  return StartServer();
}

absl::Status PostgresServer::Execute(absl::string_view sql) {
  PGconn* conn = PQconnectdb(url_.c_str());
  absl::Status status;
  if (PQstatus(conn) != CONNECTION_OK) {
    status = absl::UnavailableError(
        absl::StrCat("cannot connect to ", url_, ": ", PQerrorMessage(conn)));
  } else {
    PGresult* result = PQexec(conn, std::string(sql).c_str());
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
      status = absl::InternalError(
          absl::StrCat(sql, ": ", PQresultErrorMessage(result)));
    }
    PQclear(result);
  }
  PQfinish(conn);
  return status;
}

absl::StatusOr<std::string> PostgresServer::CreateDatabase(
    absl::string_view name) {
  if (name.empty() || name.size() > 63 ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") !=
          absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a plain database name: '", name, "'"));
  }
  absl::Status s = Execute(absl::StrCat("CREATE DATABASE ", name));
  if (!s.ok()) return s;
  return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/", name);
}

absl::Status PostgresServer::DropDatabase(absl::string_view name) {
  return Execute(
      absl::StrCat("DROP DATABASE IF EXISTS ", name, " WITH (FORCE)"));
}

PostgresServer::~PostgresServer() {
  Stop().IgnoreError();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

}  // namespace testing
}  // namespace db
}  // namespace herald
