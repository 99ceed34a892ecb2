#include "database/testing/conformance.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/dependency_outage.h"
#include "database/delete_in_slices.h"
#include "database/migrations.h"
#include "database/testing/helpers.h"

namespace herald {
namespace db {
namespace testing {

using ::testing::HasSubstr;

void DatabaseConformanceTest::SetUp() {
  ForEachBackend::SetUp();
  if (IsSkipped() || HasFatalFailure()) return;
  auto db = Database::Open(DatabaseUrl());
  ASSERT_TRUE(db.ok()) << db.status();
  db_ = *std::move(db);
  ASSERT_TRUE(db_->Transact([](Transaction& tx) {
                   return tx
                       .Execute(
                           "CREATE TABLE items (id BIGINT PRIMARY KEY,"
                           " name TEXT UNIQUE, score DOUBLE PRECISION,"
                           " payload BYTEA)")
                       .status();
                 })
                  .ok());
}

int64_t DatabaseConformanceTest::Count() { return CountRows(*db_, "items"); }

namespace {

TEST_P(DatabaseConformanceTest, EveryValueTypeRoundTrips) {
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

TEST_P(DatabaseConformanceTest, ErrorRollsBackAndCommitPersists) {
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

TEST_P(DatabaseConformanceTest, UniqueViolationIsAlreadyExists) {
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

TEST_P(DatabaseConformanceTest, InsertReturningIdGivesEachNewRowsKey) {
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

TEST_P(DatabaseConformanceTest,
       DeleteInSlicesDeletesEveryMatchingRowASliceAtATime) {
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

TEST_P(DatabaseConformanceTest, IgnoredStatementFailureRollsBack) {
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

TEST_P(DatabaseConformanceTest, BadSqlIsInvalidArgument) {
  absl::Status s = db_->Transact([](Transaction& tx) {
    return tx.Execute("INSERT INTO nowhere VALUES (1)").status();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
}

TEST_P(DatabaseConformanceTest, ConcurrentTransactionsLoseNoUpdate) {
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

TEST_P(DatabaseConformanceTest, OneFailingTransactionDoesNotAffectOthers) {
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

TEST_P(DatabaseConformanceTest, AsyncTransactionsReportEachOutcomeAfterCommit) {
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

TEST_P(DatabaseConformanceTest, QueuedAsyncTransactionsCommitBeforeClose) {
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
  auto reopened = Database::Open(DatabaseUrl());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  db_ = *std::move(reopened);
  EXPECT_EQ(Count(), 50);
}

TEST_P(DatabaseConformanceTest, ReadSeesCommittedWrites) {
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

TEST_P(DatabaseConformanceTest, MigrationsApplyOnceInOrder) {
  std::vector<Migration> migrations = {
      {1, "create", "CREATE TABLE m (a INTEGER)", "CREATE TABLE m (a INTEGER)"},
      {2, "alter",
       "ALTER TABLE m ADD COLUMN b TEXT; INSERT INTO m VALUES (1, 'x')",
       "ALTER TABLE m ADD COLUMN b TEXT; INSERT INTO m VALUES (1, 'x')"},
  };
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

TEST_P(DatabaseConformanceTest, MigrationsRefuseASchemaNewerThanTheyKnow) {
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

TEST_P(DatabaseConformanceTest, PingAnswersWhileTheDatabaseIsOpen) {
  EXPECT_TRUE(db_->Ping());
}

// Errors of the work itself are not outages (waiting does not help them), on
// every way in: a constraint violation, a duplicate key, bad SQL.
TEST_P(DatabaseConformanceTest, TheWorksOwnErrorsAreNotOutages) {
  ASSERT_TRUE(
      db_->Transact([](Transaction& tx) -> absl::Status {
           absl::Status s = tx.Execute(
                                  "CREATE TABLE strict (id BIGINT PRIMARY KEY,"
                                  " v TEXT NOT NULL)")
                                .status();
           if (!s.ok()) return s;
           return tx.Execute("INSERT INTO strict VALUES (1, 'a')").status();
         })
          .ok());
  struct Case {
    const char* sql;
    absl::StatusCode code;
  };
  for (const Case& c : {
           Case{"INSERT INTO strict(id) VALUES (2)",  // v is NOT NULL
                absl::StatusCode::kFailedPrecondition},
           Case{"INSERT INTO strict VALUES (1, 'b')",
                absl::StatusCode::kAlreadyExists},
           Case{"INSERT INTO nowhere VALUES (1)",
                absl::StatusCode::kInvalidArgument},
       }) {
    SCOPED_TRACE(c.sql);
    auto body = [&c](Transaction& tx) { return tx.Execute(c.sql).status(); };
    absl::Status sync = db_->Transact(body);
    EXPECT_EQ(sync.code(), c.code) << sync;
    EXPECT_FALSE(IsDependencyOutage(sync)) << sync;
    absl::Status async = TransactAsyncAndWait(*db_, body);
    EXPECT_EQ(async.code(), c.code) << async;
    EXPECT_FALSE(IsDependencyOutage(async)) << async;
  }
  absl::Status read = db_->Read([](Transaction& tx) {
    return tx.Query("SELECT nope FROM strict").status();
  });
  EXPECT_EQ(read.code(), absl::StatusCode::kInvalidArgument) << read;
  EXPECT_FALSE(IsDependencyOutage(read)) << read;
  EXPECT_EQ(CountRows(*db_, "strict"), 1);
}

}  // namespace
}  // namespace testing
}  // namespace db
}  // namespace herald
