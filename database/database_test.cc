// One conformance suite, run against SQLite (a real file) and PostgreSQL (a
// real throwaway server).
#include "database/database.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <postgresql/libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "base/dependency_outage.h"
#include "database/delete_in_slices.h"
#include "database/migrations.h"
#include "database/postgres_database.h"
#include "database/testing/postgres_server.h"
#include "database/testing/tmpfs.h"

namespace herald {
namespace db {
namespace {

using ::testing::HasSubstr;

enum class Backend { kSqlite, kPostgres };

class DatabaseTest : public ::testing::TestWithParam<Backend> {
 protected:
  static void SetUpTestSuite() {
    if (testing::PostgresAvailable()) {
      auto server = testing::PostgresServer::Start();
      ASSERT_TRUE(server.ok()) << server.status();
      server_ = server->release();
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    std::string url;
    if (GetParam() == Backend::kSqlite) {
      static int counter = 0;
      url = absl::StrCat("sqlite:", getenv("TEST_TMPDIR"), "/conformance_",
                         ++counter, ".db");
      std::remove(url.substr(7).c_str());
    } else {
      if (server_ == nullptr) GTEST_SKIP() << "PostgreSQL is not installed";
      url = server_->url();
    }
    url_ = url;
    auto db = Database::Open(url);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(db_->Transact([](Transaction& tx) -> absl::Status {
                     auto r = tx.Execute("DROP TABLE IF EXISTS items");
                     if (!r.ok()) return r.status();
                     r = tx.Execute("DROP TABLE IF EXISTS schema_migrations");
                     if (!r.ok()) return r.status();
                     return tx
                         .Execute(
                             "CREATE TABLE items (id BIGINT PRIMARY KEY,"
                             " name TEXT UNIQUE, score DOUBLE PRECISION,"
                             " payload BYTEA)")
                         .status();
                   })
                    .ok());
  }

  int64_t Count() {
    auto rows = db_->TransactValue<std::vector<Row>>(
        [](Transaction& tx) { return tx.Query("SELECT COUNT(*) FROM items"); });
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? (*rows)[0].Int(0) : -1;
  }

  static testing::PostgresServer* server_;
  std::string url_;
  std::unique_ptr<Database> db_;
};

testing::PostgresServer* DatabaseTest::server_ = nullptr;

TEST_P(DatabaseTest, EveryValueTypeRoundTrips) {
  const std::string binary("\x00\x01\xff\x00zz\n", 7);
  ASSERT_TRUE(db_->Transact([&](Transaction& tx) {
                   return tx
                       .Execute("INSERT INTO items VALUES (?, ?, ?, ?)",
                                {int64_t{1} << 40, std::string("it's ?"), 2.5,
                                 Bytes{binary}})
                       .status();
                 })
                  .ok());
  ASSERT_TRUE(db_->Transact([&](Transaction& tx) {
                   return tx
                       .Execute("INSERT INTO items VALUES (?, ?, ?, ?)",
                                {int64_t{2}, nullptr, nullptr, nullptr})
                       .status();
                 })
                  .ok());
  auto rows = db_->TransactValue<std::vector<Row>>([](Transaction& tx) {
    return tx.Query(
        "SELECT id, name, score, payload FROM items WHERE id > ? ORDER BY id",
        {int64_t{0}});
  });
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  const Row& r = (*rows)[1];  // 2^40 sorts after 2
  EXPECT_EQ(r.Int(0), int64_t{1} << 40);
  EXPECT_EQ(r.String(1), "it's ?");
  EXPECT_EQ(std::get<double>(r.at(2)), 2.5);
  EXPECT_EQ(r.String(3), binary);
  EXPECT_TRUE((*rows)[0].IsNull(1));
  EXPECT_TRUE((*rows)[0].IsNull(3));
}

TEST_P(DatabaseTest, ErrorRollsBackAndCommitPersists) {
  absl::Status failed = db_->Transact([](Transaction& tx) -> absl::Status {
    auto r = tx.Execute("INSERT INTO items(id, name) VALUES (1, 'a')");
    if (!r.ok()) return r.status();
    return absl::FailedPreconditionError("changed my mind");
  });
  EXPECT_EQ(failed.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Count(), 0);
  ASSERT_TRUE(db_->Transact([](Transaction& tx) {
                   return tx
                       .Execute("INSERT INTO items(id, name) VALUES (1, 'a')")
                       .status();
                 })
                  .ok());
  EXPECT_EQ(Count(), 1);
  auto changed = db_->TransactValue<int64_t>([](Transaction& tx) {
    return tx.Execute("UPDATE items SET score = 1 WHERE id >= ?", {int64_t{0}});
  });
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(*changed, 1);
}

TEST_P(DatabaseTest, UniqueViolationIsAlreadyExists) {
  auto insert = [&](int64_t id) {
    return db_->Transact([id](Transaction& tx) {
      return tx.Execute("INSERT INTO items(id, name) VALUES (?, 'same')", {id})
          .status();
    });
  };
  ASSERT_TRUE(insert(1).ok());
  absl::Status dup = insert(2);
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists) << dup;
  EXPECT_EQ(Count(), 1);
}

TEST_P(DatabaseTest, InsertReturningIdGivesEachNewRowsKey) {
  const bool sqlite = db_->dialect() == Dialect::kSqlite;
  ASSERT_TRUE(db_->Transact([&](Transaction& tx) {
                   return tx
                       .Execute(sqlite ? "CREATE TABLE seq (id INTEGER PRIMARY"
                                         " KEY, v TEXT NOT NULL)"
                                       : "CREATE TABLE seq (id BIGSERIAL"
                                         " PRIMARY KEY, v TEXT NOT NULL)")
                       .status();
                 })
                  .ok());
  std::vector<int64_t> ids;
  ASSERT_TRUE(db_->Transact([&](Transaction& tx) -> absl::Status {
                   for (const char* v : {"a", "b", "c"}) {
                     absl::StatusOr<int64_t> id =
                         tx.InsertReturningId("INSERT INTO seq(v) VALUES (?)",
                                              {std::string(v)}, "id");
                     if (!id.ok()) return id.status();
                     ids.push_back(*id);
                   }
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 2, 3}));
  // A failed insert is an error, not a stale id.
  absl::Status failed = db_->Transact([&](Transaction& tx) {
    return tx
        .InsertReturningId("INSERT INTO seq(id, v) VALUES (1, 'dup')", {}, "id")
        .status();
  });
  EXPECT_EQ(failed.code(), absl::StatusCode::kAlreadyExists) << failed;
}

TEST_P(DatabaseTest, DeleteInSlicesDeletesEveryMatchingRowASliceAtATime) {
  ASSERT_TRUE(db_->Transact([](Transaction& tx) -> absl::Status {
                   for (int64_t id = 1; id <= 7; ++id) {
                     auto r =
                         tx.Execute("INSERT INTO items(id) VALUES (?)", {id});
                     if (!r.ok()) return r.status();
                   }
                   return absl::OkStatus();
                 })
                  .ok());
  // Five rows match, in slices of two: three transactions.
  absl::StatusOr<int64_t> deleted =
      DeleteInSlices(*db_,
                     "DELETE FROM items WHERE id IN"
                     " (SELECT id FROM items WHERE id <= ? LIMIT ?)",
                     {int64_t{5}}, 2);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 5);
  EXPECT_EQ(Count(), 2);
}

TEST_P(DatabaseTest, IgnoredStatementFailureRollsBack) {
  // The body swallows a failed statement and returns OK: nothing may commit,
  // and the caller hears about it (PostgreSQL would otherwise turn COMMIT
  // into a silent ROLLBACK).
  absl::Status s = db_->Transact([](Transaction& tx) -> absl::Status {
    auto first = tx.Execute("INSERT INTO items(id, name) VALUES (1, 'a')");
    if (!first.ok()) return first.status();
    tx.Execute("INSERT INTO items(id, name) VALUES (1, 'dup')").IgnoreError();
    return absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  EXPECT_THAT(s.message(), HasSubstr("rolled back"));
  EXPECT_EQ(Count(), 0);
  // The next transaction is unaffected.
  EXPECT_TRUE(
      db_->Transact([](Transaction& tx) {
           return tx.Execute("INSERT INTO items(id) VALUES (2)").status();
         })
          .ok());
  EXPECT_EQ(Count(), 1);
}

TEST_P(DatabaseTest, BadSqlIsInvalidArgument) {
  absl::Status s = db_->Transact([](Transaction& tx) {
    return tx.Execute("INSERT INTO nowhere VALUES (1)").status();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
}

TEST_P(DatabaseTest, ConcurrentTransactionsLoseNoUpdate) {
  ASSERT_TRUE(db_->Transact([](Transaction& tx) {
                   return tx
                       .Execute("INSERT INTO items(id, score) VALUES (1, 0)")
                       .status();
                 })
                  .ok());
  constexpr int kThreads = 4, kPerThread = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::Status s = db_->Transact([&](Transaction& tx) -> absl::Status {
          auto r =
              tx.Execute("UPDATE items SET score = score + 1 WHERE id = 1");
          if (!r.ok()) return r.status();
          return tx
              .Execute("INSERT INTO items(id) VALUES (?)",
                       {int64_t{1000 + t * kPerThread + i}})
              .status();
        });
        if (!s.ok()) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto rows = db_->TransactValue<std::vector<Row>>([](Transaction& tx) {
    return tx.Query("SELECT score FROM items WHERE id = 1");
  });
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(std::get<double>((*rows)[0].at(0)), kThreads * kPerThread);
  EXPECT_EQ(Count(), 1 + kThreads * kPerThread);
}

TEST_P(DatabaseTest, OneFailingTransactionDoesNotAffectOthers) {
  // Under group commit, bodies share a COMMIT; a failing one must still
  // roll back alone.
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      absl::Status s = db_->Transact([t](Transaction& tx) -> absl::Status {
        auto r = tx.Execute("INSERT INTO items(id) VALUES (?)", {int64_t{t}});
        if (!r.ok()) return r.status();
        if (t % 2 == 1) return absl::AbortedError("odd");
        return absl::OkStatus();
      });
      EXPECT_EQ(s.ok(), t % 2 == 0) << s;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(Count(), 4);
}

TEST_P(DatabaseTest, AsyncTransactionsReportEachOutcomeAfterCommit) {
  // Many at once, as a busy server submits them: each done() sees its own
  // outcome, and what it reports as committed is readable from then on.
  constexpr int kTransactions = 200;
  absl::Mutex mu;
  int finished = 0;
  std::vector<absl::Status> outcomes(kTransactions);
  std::vector<int64_t> visible_at_done(kTransactions, -1);
  for (int i = 0; i < kTransactions; ++i) {
    db_->TransactAsync(
        [i](Transaction& tx) -> absl::Status {
          auto r = tx.Execute("INSERT INTO items(id) VALUES (?)", {int64_t{i}});
          if (!r.ok()) return r.status();
          if (i % 10 == 3) return absl::FailedPreconditionError("refused");
          return absl::OkStatus();
        },
        [&, i](absl::Status status) {
          // What done() reports is committed: a read from here sees it.
          auto rows = db_->ReadValue<std::vector<Row>>([i](Transaction& tx) {
            return tx.Query("SELECT COUNT(*) FROM items WHERE id = ?",
                            {int64_t{i}});
          });
          absl::MutexLock lock(&mu);
          outcomes[i] = std::move(status);
          if (rows.ok()) visible_at_done[i] = (*rows)[0].Int(0);
          ++finished;
        });
  }
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithTimeout(
        absl::Condition(
            +[](int* n) { return *n == kTransactions; }, &finished),
        absl::Seconds(60)));
  }
  for (int i = 0; i < kTransactions; ++i) {
    if (i % 10 == 3) {
      EXPECT_EQ(outcomes[i].code(), absl::StatusCode::kFailedPrecondition);
      EXPECT_EQ(visible_at_done[i], 0) << i;
    } else {
      EXPECT_TRUE(outcomes[i].ok()) << i << ": " << outcomes[i];
      EXPECT_EQ(visible_at_done[i], 1) << i;
    }
  }
  EXPECT_EQ(Count(), kTransactions - kTransactions / 10);
}

TEST_P(DatabaseTest, QueuedAsyncTransactionsCommitBeforeClose) {
  std::atomic<int> done{0};
  for (int i = 0; i < 50; ++i) {
    db_->TransactAsync(
        [i](Transaction& tx) {
          return tx.Execute("INSERT INTO items(id) VALUES (?)", {int64_t{i}})
              .status();
        },
        [&](absl::Status status) {
          EXPECT_TRUE(status.ok()) << status;
          done++;
        });
  }
  db_.reset();  // closing runs the queue first
  EXPECT_EQ(done.load(), 50);
  auto reopened = Database::Open(url_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  db_ = *std::move(reopened);
  EXPECT_EQ(Count(), 50);
}

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

TEST_P(DatabaseTest, ReadSeesCommittedWrites) {
  ASSERT_TRUE(db_->Transact([](Transaction& tx) {
                   return tx
                       .Execute("INSERT INTO items(id, name) VALUES (1, 'a')")
                       .status();
                 })
                  .ok());
  auto name = db_->ReadValue<std::string>(
      [](Transaction& tx) -> absl::StatusOr<std::string> {
        auto rows =
            tx.Query("SELECT name FROM items WHERE id = ?", {int64_t{1}});
        if (!rows.ok()) return rows.status();
        if (rows->empty()) return absl::NotFoundError("no row");
        return (*rows)[0].String(0);
      });
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(*name, "a");
  // A later commit is visible to the next read.
  ASSERT_TRUE(db_->Transact([](Transaction& tx) {
                   return tx.Execute("UPDATE items SET name = 'b'").status();
                 })
                  .ok());
  name = db_->ReadValue<std::string>(
      [](Transaction& tx) -> absl::StatusOr<std::string> {
        auto rows = tx.Query("SELECT name FROM items");
        if (!rows.ok()) return rows.status();
        return (*rows)[0].String(0);
      });
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(*name, "b");
  // A read's error is returned as it is.
  absl::Status bad = db_->Read([](Transaction& tx) {
    return tx.Query("SELECT nope FROM items").status();
  });
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument) << bad;
}

TEST_P(DatabaseTest, MigrationsApplyOnceInOrder) {
  std::vector<Migration> migrations = {
      {1, "create", "CREATE TABLE m (a INTEGER)", "CREATE TABLE m (a INTEGER)"},
      {2, "alter",
       "ALTER TABLE m ADD COLUMN b TEXT; INSERT INTO m VALUES (1, 'x')",
       "ALTER TABLE m ADD COLUMN b TEXT; INSERT INTO m VALUES (1, 'x')"},
  };
  db_->Transact([](Transaction& tx) {
       return tx.Execute("DROP TABLE IF EXISTS m").status();
     })
      .IgnoreError();
  ASSERT_TRUE(Migrate(*db_, "test", migrations).ok());
  ASSERT_TRUE(Migrate(*db_, "test", migrations).ok());  // idempotent
  auto rows = db_->TransactValue<std::vector<Row>>(
      [](Transaction& tx) { return tx.Query("SELECT a, b FROM m"); });
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), 1u);
  auto versions = db_->TransactValue<std::vector<Row>>([](Transaction& tx) {
    return tx.Query(
        "SELECT version FROM schema_migrations WHERE component = 'test'"
        " ORDER BY version");
  });
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 2u);
  // A broken migration reports which one.
  migrations.push_back({3, "broken", "CREATE TABLE (", "CREATE TABLE ("});
  absl::Status s = Migrate(*db_, "test", migrations);
  EXPECT_THAT(s.message(), HasSubstr("migration test v3 (broken)"));
}

TEST_P(DatabaseTest, MigrationsRefuseASchemaNewerThanTheyKnow) {
  std::vector<Migration> migrations = {
      {1, "one", "", ""}, {2, "two", "", ""}, {3, "three", "", ""}};
  ASSERT_TRUE(Migrate(*db_, "rollback", migrations).ok());
  // E.g. the deploy was rolled back to a version that knows only v1 and v2.
  migrations.pop_back();
  absl::Status s = Migrate(*db_, "rollback", migrations);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr("rollback schema is at v3 (three), newer"
                                     " than this version knows (v2)"));
  // Other components are not concerned.
  EXPECT_TRUE(Migrate(*db_, "other", migrations).ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, DatabaseTest,
                         ::testing::Values(Backend::kSqlite,
                                           Backend::kPostgres),
                         [](const auto& info) {
                           return info.param == Backend::kSqlite ? "Sqlite"
                                                                 : "Postgres";
                         });

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
// counting it against the record); an error of the work itself does not.

absl::Status InsertInto(Database& db, const char* table, int64_t id) {
  return db.Transact([&](Transaction& tx) {
    return tx
        .Execute(absl::StrCat("INSERT INTO ", table, "(id) VALUES (?)"), {id})
        .status();
  });
}

// TransactAsync's outcome, waited for.
absl::Status TransactAsyncAndWait(
    Database& db, std::function<absl::Status(Transaction&)> body) {
  absl::Notification done;
  absl::Status result;
  db.TransactAsync(std::move(body), [&](absl::Status status) {
    result = std::move(status);
    done.Notify();
  });
  if (!done.WaitForNotificationWithTimeout(absl::Seconds(60))) {
    return absl::DeadlineExceededError("TransactAsync never reported");
  }
  return result;
}

absl::Status InsertAsync(Database& db, const char* table, int64_t id) {
  return TransactAsyncAndWait(db, [table, id](Transaction& tx) {
    return tx
        .Execute(absl::StrCat("INSERT INTO ", table, "(id) VALUES (?)"), {id})
        .status();
  });
}

int64_t CountRows(Database& db, const char* table) {
  auto rows = db.ReadValue<std::vector<Row>>([&](Transaction& tx) {
    return tx.Query(absl::StrCat("SELECT COUNT(*) FROM ", table));
  });
  EXPECT_TRUE(rows.ok()) << rows.status();
  return rows.ok() ? (*rows)[0].Int(0) : -1;
}

// Runs `sql` outside a transaction (CREATE TABLESPACE cannot run in one).
absl::Status ExecOutsideTransaction(const std::string& url,
                                    const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  absl::Status status;
  if (PQstatus(conn) != CONNECTION_OK) {
    status = absl::UnavailableError(PQerrorMessage(conn));
  } else {
    PGresult* result = PQexec(conn, sql.c_str());
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
      status = absl::InternalError(PQresultErrorMessage(result));
    }
    PQclear(result);
  }
  PQfinish(conn);
  return status;
}

class PostgresOutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::PostgresAvailable()) {
      GTEST_SKIP() << "PostgreSQL is not installed";
    }
    auto server = testing::PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto db = Database::Open(server_->url());
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
  void TearDown() override {
    db_.reset();  // before the server goes
    server_.reset();
  }

  std::unique_ptr<testing::PostgresServer> server_;
  std::unique_ptr<Database> db_;
};

TEST_F(PostgresOutageTest, StoppedServerIsAnOutageAndTheSameDatabaseRecovers) {
  ASSERT_TRUE(InsertInto(*db_, "items", 1).ok());
  // The work's own errors are not outages.
  absl::Status dup = InsertInto(*db_, "items", 1);
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists) << dup;
  EXPECT_FALSE(IsDependencyOutage(dup)) << dup;
  absl::Status bad = db_->Transact([](Transaction& tx) {
    return tx.Execute("INSERT INTO nowhere VALUES (1)").status();
  });
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument) << bad;
  EXPECT_FALSE(IsDependencyOutage(bad)) << bad;

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

TEST_F(PostgresOutageTest, SessionTerminatedByTheServerIsAnOutageAndRetried) {
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

TEST_F(PostgresOutageTest, SqlstatesOfAnUnusableServerAreOutagesOthersNot) {
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

TEST_F(PostgresOutageTest, FullDiskIsAnOutageUntilThereIsRoomAgain) {
  // A tablespace on a tiny tmpfs: inserts really fail with ENOSPC (53100).
  auto fs = testing::Tmpfs::Mount(512 << 10);
  if (!fs.ok()) GTEST_SKIP() << fs.status();
  if (geteuid() == 0) {
    ASSERT_EQ(
        std::system(absl::StrCat("chown postgres ", (*fs)->path()).c_str()), 0);
  }
  ASSERT_TRUE(
      ExecOutsideTransaction(
          server_->url(),
          absl::StrCat("CREATE TABLESPACE tiny LOCATION '", (*fs)->path(), "'"))
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
  ASSERT_TRUE(
      ExecOutsideTransaction(server_->url(), "DROP TABLESPACE tiny").ok());
}

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
  // The work's own errors are not outages, on either path: a constraint
  // violation (v is NOT NULL), a duplicate key, bad SQL.
  for (absl::Status s :
       {InsertInto(**db, "items", 2), InsertAsync(**db, "items", 2)}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_FALSE(IsDependencyOutage(s)) << s;
  }
  absl::Status dup = (*db)->Transact([](Transaction& tx) {
    return tx.Execute("INSERT INTO items VALUES (1, 'b')").status();
  });
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists) << dup;
  EXPECT_FALSE(IsDependencyOutage(dup)) << dup;
  absl::Status bad = (*db)->Transact([](Transaction& tx) {
    return tx.Execute("INSERT INTO nowhere VALUES (1)").status();
  });
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument) << bad;
  EXPECT_FALSE(IsDependencyOutage(bad)) << bad;

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

}  // namespace
}  // namespace db
}  // namespace herald
