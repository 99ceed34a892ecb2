// The database conformance suite (database/testing/conformance.h), run
// against SQLite (a real file) and PostgreSQL (a real throwaway server), and
// the tests of each backend's own behaviour: SQLite's locks and full disks,
// a PostgreSQL server stopped, restarted, out of space.
#include "database/database.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "base/dependency_outage.h"
#include "database/postgres_database.h"
#include "database/testing/backends.h"
#include "database/testing/conformance.h"
#include "database/testing/helpers.h"
#include "database/testing/tmpfs.h"

namespace herald {
namespace db {

namespace testing {

INSTANTIATE_TEST_SUITE_P(Backends, DatabaseConformanceTest,
                         ::testing::ValuesIn(AllBackends()), BackendParamName);

}  // namespace testing

namespace {

using testing::Backend;
using testing::CountRows;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::TransactAsyncAndWait;

TEST(SqliteDurabilityTest, TransactFromACallbackFailsInsteadOfHanging) {
  auto db = Database::Open(
      absl::StrCat("sqlite:", getenv("TEST_TMPDIR"), "/callback.db"));
  ASSERT_TRUE(db.ok()) << db.status();
  absl::Notification done;
  absl::Status nested;
  (*db)->TransactAsync(
      [](Transaction& tx) { return tx.Query("SELECT 1").status(); },
      [&](absl::Status) {
        nested = (*db)->Transact(
            [](Transaction& tx) { return tx.Query("SELECT 1").status(); });
        done.Notify();
      });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(nested.code(), absl::StatusCode::kFailedPrecondition) << nested;
}

TEST(SqliteTest, LockedDatabaseGivesUnavailableAndLosesNothing) {
  std::string path = absl::StrCat(getenv("TEST_TMPDIR"), "/locked.db");
  std::remove(path.c_str());
  auto db =
      Database::Open(absl::StrCat("sqlite:", path, "?busy_timeout_ms=200"));
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)
                  ->Transact([](Transaction& tx) {
                    return tx.Execute("CREATE TABLE t (x INTEGER)").status();
                  })
                  .ok());
  // Another connection holds the write lock.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr),
            SQLITE_OK);
  absl::Status s = (*db)->Transact([](Transaction& tx) {
    return tx.Execute("INSERT INTO t VALUES (1)").status();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(s.message(), HasSubstr("locked"));
  EXPECT_TRUE(IsDependencyOutage(s)) << s;
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(other);
  // Once released, the same write goes through.
  ASSERT_TRUE((*db)
                  ->Transact([](Transaction& tx) {
                    return tx.Execute("INSERT INTO t VALUES (1)").status();
                  })
                  .ok());
}

// Dependency outages: an error that means the database cannot be used right
// now carries the DependencyOutage mark (a consumer waits it out instead of
// counting it against the record); an error of the work itself does not
// (DatabaseConformanceTest.TheWorksOwnErrorsAreNotOutages, on every backend).

absl::Status InsertInto(Database& db, const char* table, int64_t id) {
  return db.Transact([&](Transaction& tx) {
    return tx
        .Execute(absl::StrCat("INSERT INTO ", table, "(id) VALUES (?)"), {id})
        .status();
  });
}

absl::Status InsertAsync(Database& db, const char* table, int64_t id) {
  return TransactAsyncAndWait(db, [table, id](Transaction& tx) {
    return tx
        .Execute(absl::StrCat("INSERT INTO ", table, "(id) VALUES (?)"), {id})
        .status();
  });
}

// A PostgreSQL server stopped, ending sessions, out of space: on the server
// this test binary shares (ForEachBackend), which a test may stop; it is
// started again after each test.
class PostgresOutageTest : public testing::ForEachBackend {
 protected:
  void SetUp() override {
    ForEachBackend::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    server_ = postgres_server();
    auto db = Database::Open(DatabaseUrl());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(db_->Transact([](Transaction& tx) {
                     return tx
                         .Execute(
                             "CREATE TABLE items (id BIGINT PRIMARY KEY,"
                             " payload BYTEA)")
                         .status();
                   })
                    .ok());
  }

  testing::PostgresServer* server_ = nullptr;
  std::unique_ptr<Database> db_;
};

TEST_P(PostgresOutageTest, StoppedServerIsAnOutageAndTheSameDatabaseRecovers) {
  // (The work's own errors are not outages: DatabaseConformanceTest.)
  ASSERT_TRUE(InsertInto(*db_, "items", 1).ok());
  ASSERT_TRUE(server_->Stop().ok());
  // Every pooled connection is now dead; each way in reports an outage.
  absl::Status down = InsertInto(*db_, "items", 2);
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable) << down;
  EXPECT_TRUE(IsDependencyOutage(down)) << down;
  absl::Status down_async = InsertAsync(*db_, "items", 2);
  EXPECT_TRUE(IsDependencyOutage(down_async)) << down_async;
  absl::Status down_read =
      db_->Read([](Transaction& tx) { return tx.Query("SELECT 1").status(); });
  EXPECT_TRUE(IsDependencyOutage(down_read)) << down_read;
  EXPECT_FALSE(db_->Ping());

  ASSERT_TRUE(server_->StartAgain().ok());
  // The same Database: connections that broke reconnect, including those
  // that have not been used since the restart (busy enough that every
  // pooled connection serves some).
  constexpr int kAsync = 16;
  absl::Mutex mu;
  int finished = 0;
  std::vector<absl::Status> outcomes(kAsync);
  for (int i = 0; i < kAsync; ++i) {
    db_->TransactAsync(
        [i](Transaction& tx) -> absl::Status {
          absl::Status s =
              tx.Execute("INSERT INTO items(id) VALUES (?)", {int64_t{100 + i}})
                  .status();
          if (!s.ok()) return s;
          return tx.Query("SELECT pg_sleep(0.02)").status();
        },
        [&, i](absl::Status status) {
          absl::MutexLock lock(&mu);
          outcomes[i] = std::move(status);
          ++finished;
        });
  }
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithTimeout(
        absl::Condition(
            +[](int* n) { return *n == kAsync; }, &finished),
        absl::Seconds(60)));
  }
  for (int i = 0; i < kAsync; ++i) {
    EXPECT_TRUE(outcomes[i].ok()) << i << ": " << outcomes[i];
  }
  absl::Status again = InsertInto(*db_, "items", 2);
  EXPECT_TRUE(again.ok()) << again;
  EXPECT_TRUE(db_->Ping());
  EXPECT_EQ(CountRows(*db_, "items"), 2 + kAsync);
}

TEST_P(PostgresOutageTest, SessionTerminatedByTheServerIsAnOutageAndRetried) {
  // The server ends the session mid-transaction (57P01, as on an
  // administrator's shutdown): the statement's error is an outage, and
  // Transact's own retry runs the body again on a fresh connection.
  int attempts = 0;
  absl::Status seen;
  absl::Status s = db_->Transact([&](Transaction& tx) -> absl::Status {
    if (++attempts == 1) {
      seen = tx.Query("SELECT pg_terminate_backend(pg_backend_pid())").status();
      return seen;
    }
    return tx.Execute("INSERT INTO items(id) VALUES (1)").status();
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(seen.code(), absl::StatusCode::kUnavailable) << seen;
  EXPECT_TRUE(IsDependencyOutage(seen)) << seen;
  EXPECT_EQ(CountRows(*db_, "items"), 1);
  // A body that ignores the failed statement still gets it, marked.
  absl::Status ignored = db_->Transact([](Transaction& tx) {
    tx.Query("SELECT pg_terminate_backend(pg_backend_pid())").IgnoreError();
    return absl::OkStatus();
  });
  EXPECT_THAT(ignored.message(), HasSubstr("rolled back"));
  EXPECT_TRUE(IsDependencyOutage(ignored)) << ignored;
  EXPECT_TRUE(InsertInto(*db_, "items", 2).ok());
}

TEST_P(PostgresOutageTest, SqlstatesOfAnUnusableServerAreOutagesOthersNot) {
  // The server reports each SQLSTATE as it would report the real cause
  // (RAISE sends exactly that code over the wire); the error keeps the code
  // it always had, and only the server's trouble is marked.
  struct Case {
    const char* sqlstate;
    bool outage;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {"08006", true, absl::StatusCode::kUnavailable},  // connection failure
      {"57P01", true, absl::StatusCode::kUnavailable},  // admin shutdown
      {"57P02", true, absl::StatusCode::kUnavailable},  // crash shutdown
      {"57P03", true, absl::StatusCode::kUnavailable},  // cannot connect now
      {"53100", true, absl::StatusCode::kInternal},     // disk full
      {"53200", true, absl::StatusCode::kInternal},     // out of memory
      {"53300", true, absl::StatusCode::kInternal},     // too many connections
      {"58030", true, absl::StatusCode::kInternal},     // I/O error
      {"23505", false, absl::StatusCode::kAlreadyExists},
      {"23503", false, absl::StatusCode::kFailedPrecondition},
      {"22012", false, absl::StatusCode::kInvalidArgument},
      {"42601", false, absl::StatusCode::kInvalidArgument},
      {"53400", false, absl::StatusCode::kInternal},     // a statement's limit
      {"57014", false, absl::StatusCode::kUnavailable},  // query canceled
      {"XX000", false, absl::StatusCode::kInternal},
  };
  for (const Case& c : cases) {
    absl::Status s = db_->Transact([&](Transaction& tx) {
      return tx
          .Execute(absl::StrCat("DO $$ BEGIN RAISE EXCEPTION 'raised' USING"
                                " ERRCODE = '",
                                c.sqlstate, "'; END $$"))
          .status();
    });
    EXPECT_EQ(s.code(), c.code) << c.sqlstate << ": " << s;
    EXPECT_EQ(IsDependencyOutage(s), c.outage) << c.sqlstate << ": " << s;
  }
  // A real 53400: one statement outgrows temp_file_limit. It would fail
  // again however long it waited, so it is the work's own failure.
  absl::Status limit = db_->Transact([](Transaction& tx) -> absl::Status {
    for (const char* sql :
         {"SET LOCAL temp_file_limit = '64kB'", "SET LOCAL work_mem = '64kB'",
          "SELECT g FROM generate_series(1, 200000) g ORDER BY g DESC"}) {
      absl::Status s = tx.Query(sql).status();
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  });
  EXPECT_THAT(limit.message(), HasSubstr("temp_file_limit")) << limit;
  EXPECT_FALSE(IsDependencyOutage(limit)) << limit;
  // Conflicts that outlast Transact's retries are contention, not an outage.
  for (const char* conflict : {"40001", "40P01"}) {
    int attempts = 0;
    absl::Status s = db_->Transact([&](Transaction& tx) {
      ++attempts;
      return tx
          .Execute(absl::StrCat("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING"
                                " ERRCODE = '",
                                conflict, "'; END $$"))
          .status();
    });
    EXPECT_GT(attempts, 1) << conflict;
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << conflict << s;
    EXPECT_THAT(s.message(), HasSubstr("kept conflicting"));
    EXPECT_FALSE(IsDependencyOutage(s)) << conflict << ": " << s;
  }
}

TEST_P(PostgresOutageTest, FullDiskIsAnOutageUntilThereIsRoomAgain) {
  // A tablespace on a tiny tmpfs: inserts really fail with ENOSPC (53100).
  auto fs = testing::Tmpfs::Mount(512 << 10);
  if (!fs.ok()) GTEST_SKIP() << fs.status();
  if (geteuid() == 0) {
    ASSERT_EQ(
        std::system(absl::StrCat("chown postgres ", (*fs)->path()).c_str()), 0);
  }
  ASSERT_TRUE(server_
                  ->Execute(absl::StrCat("CREATE TABLESPACE tiny LOCATION '",
                                         (*fs)->path(), "'"))
                  .ok());
  ASSERT_TRUE(db_->Transact([](Transaction& tx) {
                   return tx
                       .Execute(
                           "CREATE TABLE full_items (id BIGINT, payload"
                           " BYTEA) TABLESPACE tiny")
                       .status();
                 })
                  .ok());
  // Incompressible 64 KiB values.
  std::string payload(64 << 10, '\0');
  uint64_t x = 88172645463325252ull;
  for (char& c : payload) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }
  auto insert = [&](int64_t id) {
    return db_->Transact([&](Transaction& tx) {
      return tx
          .Execute("INSERT INTO full_items VALUES (?, ?)", {id, Bytes{payload}})
          .status();
    });
  };
  absl::Status full;
  int64_t id = 0;
  while (full.ok() && id < 100) full = insert(++id);
  ASSERT_FALSE(full.ok()) << "512 KiB never filled up";
  EXPECT_GT(id, 2) << "full before the first rows: " << full;
  EXPECT_THAT(full.message(), HasSubstr("No space left on device"));
  EXPECT_TRUE(IsDependencyOutage(full)) << full;
  EXPECT_TRUE(IsDependencyOutage(insert(++id)));
  ASSERT_TRUE((*fs)->Resize(16 << 20).ok());
  absl::Status room = insert(++id);
  EXPECT_TRUE(room.ok()) << room;
  // Nothing may stay behind on the tmpfs.
  ASSERT_TRUE(db_->Transact([](Transaction& tx) {
                   return tx.Execute("DROP TABLE full_items").status();
                 })
                  .ok());
  ASSERT_TRUE(server_->Execute("DROP TABLESPACE tiny").ok());
}

// Statements with parameters are prepared once per pooled connection
// (postgres_database.cc): what a session loses, or a table changes under,
// is prepared again, without the caller seeing it.
TEST_P(PostgresOutageTest, PreparedStatementsAreMadeAgainInANewSession) {
  auto count_above = [](Transaction& tx) -> absl::StatusOr<int64_t> {
    auto rows = tx.Query("SELECT COUNT(*) FROM items WHERE id > ?", {0});
    if (!rows.ok()) return rows.status();
    return (*rows)[0].Int(0);
  };
  ASSERT_TRUE(InsertInto(*db_, "items", 1).ok());
  ASSERT_TRUE(
      db_->Read([&](Transaction& tx) { return count_above(tx).status(); })
          .ok());
  // The session ends after the statement was prepared on it: the retry
  // runs on a new session, which has no prepared statement.
  int attempts = 0;
  absl::StatusOr<int64_t> counted = db_->TransactValue<int64_t>(
      [&](Transaction& tx) -> absl::StatusOr<int64_t> {
        absl::StatusOr<int64_t> n = count_above(tx);
        if (!n.ok() || ++attempts > 1) return n;
        absl::Status ended =
            tx.Query("SELECT pg_terminate_backend(pg_backend_pid())").status();
        if (ended.ok()) return absl::InternalError("the session lives");
        return ended;  // an outage: Transact runs the body again
      });
  ASSERT_TRUE(counted.ok()) << counted.status();
  EXPECT_EQ(*counted, 1);
  EXPECT_EQ(attempts, 2);
}

TEST_P(PostgresOutageTest, ATableChangedUnderAPreparedStatementIsReadAgain) {
  ASSERT_TRUE(InsertInto(*db_, "items", 1).ok());
  auto columns = [&]() -> absl::StatusOr<size_t> {
    return db_->ReadValue<size_t>(
        [](Transaction& tx) -> absl::StatusOr<size_t> {
          auto rows = tx.Query("SELECT * FROM items WHERE id = ?", {1});
          if (!rows.ok()) return rows.status();
          if (rows->size() != 1) return absl::NotFoundError("no row 1");
          return (*rows)[0].size();
        });
  };
  // Every pooled connection prepares the SELECT * (each Read takes one).
  for (int i = 0; i < 8; ++i) ASSERT_EQ(columns().value_or(0), 2u);
  ASSERT_TRUE(
      db_->Transact([](Transaction& tx) {
           return tx.Execute("ALTER TABLE items ADD COLUMN note TEXT").status();
         })
          .ok());
  // PostgreSQL refuses a cached plan whose result changed shape.
  for (int i = 0; i < 8; ++i) {
    absl::StatusOr<size_t> n = columns();
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, 3u);
  }
}

TEST_P(PostgresOutageTest, PrepareFalseLeavesNoStatementInTheSession) {
  // Behind a pooler that gives each transaction another server session, a
  // named statement could be missing, or another's: prepare=false.
  auto prepared_in_session = [](Database& db) -> int64_t {
    absl::StatusOr<int64_t> n =
        db.ReadValue<int64_t>([](Transaction& tx) -> absl::StatusOr<int64_t> {
          auto warm = tx.Query("SELECT COUNT(*) FROM items WHERE id > ?", {0});
          if (!warm.ok()) return warm.status();
          auto rows = tx.Query(
              "SELECT COUNT(*) FROM pg_prepared_statements WHERE name LIKE ?",
              {"h%"});
          if (!rows.ok()) return rows.status();
          return (*rows)[0].Int(0);
        });
    return n.value_or(-1);
  };
  auto prepared = Database::Open(DatabaseUrl() + "?pool_size=1");
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_GE(prepared_in_session(**prepared), 1);
  auto unprepared =
      Database::Open(DatabaseUrl() + "?pool_size=1&prepare=false");
  ASSERT_TRUE(unprepared.ok()) << unprepared.status();
  EXPECT_EQ(prepared_in_session(**unprepared), 0);
  absl::StatusOr<std::unique_ptr<Database>> bad =
      Database::Open(DatabaseUrl() + "?prepare=sometimes");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("prepare"));
}

TEST_P(PostgresOutageTest, StatementsBeyondThePreparedCacheStillRun) {
  // Texts built per call (a literal in the text) are more than any cache
  // holds: those past it run unprepared, with the same results.
  ASSERT_TRUE(InsertInto(*db_, "items", 7).ok());
  for (int i = 0; i < 400; ++i) {
    absl::StatusOr<int64_t> n = db_->ReadValue<int64_t>(
        [i](Transaction& tx) -> absl::StatusOr<int64_t> {
          auto rows = tx.Query(
              absl::StrCat("SELECT COUNT(*) + ", i, " FROM items WHERE id = ?"),
              {7});
          if (!rows.ok()) return rows.status();
          return (*rows)[0].Int(0);
        });
    ASSERT_TRUE(n.ok()) << i << ": " << n.status();
    ASSERT_EQ(*n, i + 1);
  }
}

INSTANTIATE_TEST_SUITE_P(Postgres, PostgresOutageTest,
                         ::testing::Values(Backend::kPostgres),
                         testing::BackendParamName);

TEST(SqliteOutageTest, FileLockedByAnotherProcessIsAnOutageUntilReleased) {
  std::string path = absl::StrCat(getenv("TEST_TMPDIR"), "/outage_lock.db");
  std::remove(path.c_str());
  auto db =
      Database::Open(absl::StrCat("sqlite:", path, "?busy_timeout_ms=100"));
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)
                  ->Transact([](Transaction& tx) {
                    return tx
                        .Execute(
                            "CREATE TABLE items (id INTEGER PRIMARY KEY,"
                            " v TEXT NOT NULL)")
                        .status();
                  })
                  .ok());
  ASSERT_TRUE(
      (*db)
          ->Transact([](Transaction& tx) {
            return tx.Execute("INSERT INTO items VALUES (1, 'a')").status();
          })
          .ok());
  // (The work's own errors are not outages: DatabaseConformanceTest.)

  // A raw connection, as another process would hold it.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr),
            SQLITE_OK);
  auto add = [](int64_t id) {
    return [id](Transaction& tx) {
      return tx.Execute("INSERT INTO items VALUES (?, 'x')", {id}).status();
    };
  };
  absl::Status locked = (*db)->Transact(add(2));
  EXPECT_EQ(locked.code(), absl::StatusCode::kUnavailable) << locked;
  EXPECT_THAT(locked.message(), HasSubstr("locked"));
  EXPECT_TRUE(IsDependencyOutage(locked)) << locked;
  absl::Status locked_async = TransactAsyncAndWait(**db, add(2));
  EXPECT_EQ(locked_async.code(), absl::StatusCode::kUnavailable)
      << locked_async;
  EXPECT_TRUE(IsDependencyOutage(locked_async)) << locked_async;
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(other);

  absl::Status released = (*db)->Transact(add(2));
  EXPECT_TRUE(released.ok()) << released;
  absl::Status released_async = TransactAsyncAndWait(**db, add(3));
  EXPECT_TRUE(released_async.ok()) << released_async;
  EXPECT_EQ(CountRows(**db, "items"), 3);
}

TEST(SqliteOutageTest, WriteInAReadIsTheBodysFailureNotAnOutage) {
  // Read runs on a connection opened read-only on purpose: SQLITE_READONLY
  // there is the body's mistake, not a read-only file.
  std::string path = absl::StrCat(getenv("TEST_TMPDIR"), "/outage_read.db");
  std::remove(path.c_str());
  auto db = Database::Open(absl::StrCat("sqlite:", path));
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(
      (*db)
          ->Transact([](Transaction& tx) {
            return tx.Execute("CREATE TABLE items (id INTEGER)").status();
          })
          .ok());
  absl::Status s = (*db)->Read([](Transaction& tx) {
    return tx.Execute("INSERT INTO items VALUES (1)").status();
  });
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("readonly"));
  EXPECT_FALSE(IsDependencyOutage(s)) << s;
}

TEST(SqliteOutageTest, FullDiskIsAnOutageUntilThereIsRoomAgain) {
  auto fs = testing::Tmpfs::Mount(384 << 10);
  if (!fs.ok()) GTEST_SKIP() << fs.status();
  // Both synchronous modes: "full" flushes on the syncer thread, "normal"
  // reports from the committer.
  for (const char* mode : {"full", "normal"}) {
    SCOPED_TRACE(mode);
    std::string path = absl::StrCat((*fs)->path(), "/", mode, ".db");
    auto db =
        Database::Open(absl::StrCat("sqlite:", path, "?synchronous=", mode));
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)
                    ->Transact([](Transaction& tx) {
                      return tx
                          .Execute(
                              "CREATE TABLE items (id INTEGER PRIMARY"
                              " KEY, payload BLOB)")
                          .status();
                    })
                    .ok());
    std::string payload(32 << 10, 'x');
    uint64_t x = 88172645463325252ull;
    for (char& c : payload) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      c = static_cast<char>(x);
    }
    auto add = [&](int64_t id) {
      return [id, &payload](Transaction& tx) {
        return tx
            .Execute("INSERT INTO items VALUES (?, ?)", {id, Bytes{payload}})
            .status();
      };
    };
    absl::Status full;
    int64_t id = 0;
    while (full.ok() && id < 100) full = (*db)->Transact(add(++id));
    ASSERT_FALSE(full.ok()) << "the tmpfs never filled up";
    EXPECT_GT(id, 2) << "full before the first rows: " << full;
    EXPECT_THAT(full.message(), HasSubstr("full"));
    EXPECT_TRUE(IsDependencyOutage(full)) << full;
    absl::Status full_async = TransactAsyncAndWait(**db, add(++id));
    EXPECT_TRUE(IsDependencyOutage(full_async)) << full_async;

    ASSERT_TRUE((*fs)->Resize(64 << 20).ok());
    absl::Status room = (*db)->Transact(add(++id));
    EXPECT_TRUE(room.ok()) << room;
    db->reset();
    std::remove(path.c_str());
    std::remove((path + "-wal").c_str());
    std::remove((path + "-shm").c_str());
    ASSERT_TRUE((*fs)->Resize(384 << 10).ok());
  }
}

TEST(UrlTest, UnknownSchemeAndOptions) {
  EXPECT_EQ(Database::Open("mysql://x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Database::Open("sqlite:/tmp/x.db?nope=1").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RewritePlaceholders("SELECT ?, '?', \"?\", ?"),
            "SELECT $1, '?', \"?\", $2");
}

// libpq's errors may quote the URL they were given; the password never
// reaches the Status (and so no log line or answer built from it).
TEST(UrlTest, OpenErrorsNeverHoldThePassword) {
  for (const std::string url :
       {"postgresql://herald:Pw0-s3cret@127.0.0.1:1/herald",
        "postgresql://herald:Pw0-s3cret@[::1/herald",
        "postgresql://herald:Pw0%2Ds3cret@127.0.0.1:1/herald?connect_timeout=x",
        "postgresql://127.0.0.1:1/herald?password=Pw0-s3cret",
        "postgresql://herald@127.0.0.1:1/herald?password=Pw0-s3cret&bogus=1",
        "mysql://herald:Pw0-s3cret@db/herald",
        "sqlite:/tmp/x.db?password=Pw0-s3cret"}) {
    absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(url);
    ASSERT_FALSE(db.ok()) << url;
    EXPECT_THAT(std::string(db.status().message()), Not(HasSubstr("s3cret")))
        << url;
    EXPECT_THAT(std::string(db.status().message()), Not(HasSubstr("Pw0")))
        << url;
  }
}

}  // namespace
}  // namespace db
}  // namespace herald
