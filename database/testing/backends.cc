#include "database/testing/backends.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace herald {
namespace db {
namespace testing {
namespace {

// The PostgreSQL server this test binary shares, started on first use.
struct SharedPostgres {
  absl::Mutex mu;
  bool tried ABSL_GUARDED_BY(mu) = false;
  // Why there is no server, once tried.
  absl::Status status ABSL_GUARDED_BY(mu);
  std::unique_ptr<PostgresServer> server ABSL_GUARDED_BY(mu);
  // Databases made so far, SQLite files included: numbers them.
  int made ABSL_GUARDED_BY(mu) = 0;
};

SharedPostgres& Shared() {
  static SharedPostgres* shared = new SharedPostgres();
  return *shared;
}

// The shared server, started on the first call; the same error on every
// call when it cannot be.
absl::StatusOr<PostgresServer*> SharedServer() {
  SharedPostgres& shared = Shared();
  absl::MutexLock lock(&shared.mu);
  if (!shared.tried) {
    shared.tried = true;
    absl::StatusOr<std::unique_ptr<PostgresServer>> server =
        PostgresServer::Start();
    if (server.ok()) {
      shared.server = *std::move(server);
    } else {
      shared.status = server.status();
    }
  }
  if (shared.server == nullptr) return shared.status;
  return shared.server.get();
}

int NextNumber() {
  SharedPostgres& shared = Shared();
  absl::MutexLock lock(&shared.mu);
  return ++shared.made;
}

// Stops and removes the shared server once every test has run.
class SharedPostgresEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    SharedPostgres& shared = Shared();
    absl::MutexLock lock(&shared.mu);
    shared.server.reset();
  }
};

ABSL_ATTRIBUTE_UNUSED ::testing::Environment* const kSharedPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new SharedPostgresEnvironment());

// `name` as a database name: lower case, '-' as '_'.
std::string PlainName(absl::string_view name) {
  std::string out = absl::AsciiStrToLower(name);
  for (char& c : out) {
    if (!absl::ascii_isalnum(c)) c = '_';
  }
  return out;
}

}  // namespace

std::vector<Backend> AllBackends() {
  return {Backend::kSqlite, Backend::kPostgres};
}

std::string BackendName(Backend backend) {
  switch (backend) {
    case Backend::kSqlite:
      return "Sqlite";
    case Backend::kPostgres:
      return "Postgres";
  }
  return "Unknown";
}

std::string BackendParamName(const ::testing::TestParamInfo<Backend>& info) {
  return BackendName(info.param);
}

void PrintTo(Backend backend, std::ostream* os) { *os << BackendName(backend); }

bool CiRequiresEveryBackend() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && absl::string_view(ci) == "true";
}

void ForEachBackend::SetUp() {
  if (backend() != Backend::kPostgres) return;
  absl::StatusOr<PostgresServer*> server = SharedServer();
  if (server.ok()) return;
  if (absl::IsFailedPrecondition(server.status())) {  // not installed
    if (CiRequiresEveryBackend()) {
      FAIL() << server.status().message()
             << ". CI=true: a test that needs PostgreSQL fails without it "
                "instead of being skipped.";
    }
    GTEST_SKIP() << server.status().message();
  }
  FAIL() << "the shared PostgreSQL server did not start: " << server.status();
}

PostgresServer* ForEachBackend::postgres_server() {
  if (backend() != Backend::kPostgres) return nullptr;
  absl::StatusOr<PostgresServer*> server = SharedServer();
  return server.ok() ? *server : nullptr;
}

std::string ForEachBackend::DatabaseUrl(absl::string_view name) {
  auto known = urls_.find(name);
  if (known != urls_.end()) return known->second;
  const std::string plain = PlainName(name);
  std::string url;
  if (backend() == Backend::kSqlite) {
    const char* tmpdir = std::getenv("TEST_TMPDIR");
    const std::string path = absl::StrCat(tmpdir != nullptr ? tmpdir : "/tmp",
                                          "/", NextNumber(), "_", plain, ".db");
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::remove(absl::StrCat(path, suffix).c_str());
    }
    url = absl::StrCat("sqlite:", path);
  } else {
    PostgresServer* server = postgres_server();
    if (server == nullptr) {
      ADD_FAILURE() << "DatabaseUrl(\"" << name
                    << "\") without a PostgreSQL server (did SetUp() skip?)";
      return "";
    }
    const std::string database =
        absl::StrCat("t", NextNumber(), "_", plain).substr(0, 63);
    absl::StatusOr<std::string> created = server->CreateDatabase(database);
    if (!created.ok()) {
      ADD_FAILURE() << created.status();
      return "";
    }
    postgres_databases_.push_back(database);
    url = *std::move(created);
  }
  urls_.emplace(std::string(name), url);
  return url;
}

ForEachBackend::~ForEachBackend() {
  PostgresServer* server = postgres_server();
  if (server == nullptr) return;
  absl::Status started = server->StartAgain();
  EXPECT_TRUE(started.ok()) << "the shared PostgreSQL server, stopped by the "
                               "test, did not start again: "
                            << started;
  if (!started.ok()) return;
  for (const std::string& database : postgres_databases_) {
    absl::Status dropped = server->DropDatabase(database);
    EXPECT_TRUE(dropped.ok()) << dropped;
  }
}

}  // namespace testing
}  // namespace db
}  // namespace herald
