// Several relays on one PostgreSQL outbox (outbox_leases.h): each row goes
// out once, each key's rows in commit order, although ids commit out of
// order; a dead relay's shards are taken over; leases spread evenly.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "contracts/v1/payments.pb.h"
#include "database/database.h"
#include "database/migrations.h"
#include "database/testing/backends.h"
#include "messaging/consumer.h"
#include "messaging/envelope.h"
#include "messaging/mock_cluster.h"
#include "messaging/outbox/commit_notices.h"
#include "messaging/outbox/outbox_relay.h"
#include "messaging/outbox/outbox_store.h"
#include "messaging/testing/test_support.h"

namespace herald {
namespace outbox {
namespace {

using contracts::v1::PaymentCreated;
using herald::testing::RunningConsumer;
using herald::testing::TestConfig;
using herald::testing::WaitFor;

constexpr int kPartitions = 3;
constexpr char kSentinel[] = "sentinel-";

class OutboxShardsTest : public db::testing::ForEachBackend {
 protected:
  void SetUp() override {
    ForEachBackend::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    url_ = DatabaseUrl();
    writer_db_ = OpenDb("?pool_size=8");
    ASSERT_TRUE(db::Migrate(*writer_db_, "outbox", OutboxMigrations()).ok());
    auto cluster = MockCluster::Start(1);
    ASSERT_TRUE(cluster.ok());
    cluster_ = *std::move(cluster);
    ASSERT_TRUE(cluster_->CreateTopic("payment.created", kPartitions).ok());
    config_ = TestConfig(*cluster_, "outbox-shards-test");
    options_.lease = absl::Milliseconds(1200);
    options_.idle_poll = absl::Milliseconds(100);
  }

  std::unique_ptr<db::Database> OpenDb(absl::string_view query = "") {
    auto db = db::Database::Open(absl::StrCat(url_, query));
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? *std::move(db) : nullptr;
  }

  // A relay on a database connection of its own, as another gateway.
  std::unique_ptr<OutboxRelay> StartRelay() {
    relay_dbs_.push_back(OpenDb("?pool_size=2"));
    auto relay = OutboxRelay::Start(*relay_dbs_.back(), config_, options_);
    EXPECT_TRUE(relay.ok()) << relay.status();
    return relay.ok() ? *std::move(relay) : nullptr;
  }

  // An event committed as a gateway commits it: its row and where it went,
  // for OutboxRelay::Handoff.
  struct CommittedRow {
    RowPosition position;
    OutboxRow row;
  };
  // Commits an event for `key` (`by_id`: AppendToOutboxById, the baseline).
  CommittedRow CommitRow(const std::string& key, int64_t amount,
                         bool by_id = false) {
    PaymentCreated p;
    p.set_payment_id(key);
    p.set_amount(amount);
    auto row = EncodeOutboxRow(p, "test");
    EXPECT_TRUE(row.ok());
    CommittedRow committed{RowPosition(), *std::move(row)};
    EXPECT_TRUE(writer_db_
                    ->Transact([&](db::Transaction& tx) {
                      return by_id ? AppendToOutboxById(tx, committed.row,
                                                        &committed.position)
                                   : AppendToOutbox(tx, committed.row,
                                                    &committed.position);
                    })
                    .ok());
    return committed;
  }

  // Commits an event for `key`; returns its event id.
  std::string Commit(const std::string& key, int64_t amount) {
    return std::string(CommitRow(key, amount).row.event_id());
  }

  std::unique_ptr<RunningConsumer> Consume() {
    auto consumer = Consumer::Create(config_);
    EXPECT_TRUE(consumer.ok());
    EXPECT_TRUE((*consumer)
                    ->Subscribe<PaymentCreated>(
                        [this](const PaymentCreated& p, const Metadata& meta) {
                          absl::MutexLock lock(&mu_);
                          if (absl::StartsWith(p.payment_id(), kSentinel)) {
                            sentinel_partitions_.insert(meta.partition);
                            return absl::OkStatus();
                          }
                          arrivals_[p.payment_id()].emplace_back(meta.event_id);
                          times_seen_[std::string(meta.event_id)]++;
                          return absl::OkStatus();
                        })
                    .ok());
    return std::make_unique<RunningConsumer>(*std::move(consumer));
  }

  int Received() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(times_seen_.size());
  }

  // Commits sentinels, relayed by `relay` (the only one left), until one
  // arrived on each partition: by then every record published before them
  // has arrived too (a partition is read in order).
  void SendSentinelsThrough(OutboxRelay& relay) {
    for (int i = 0; i < 64; ++i) {
      {
        absl::MutexLock lock(&mu_);
        if (static_cast<int>(sentinel_partitions_.size()) == kPartitions) {
          return;
        }
      }
      Commit(absl::StrCat(kSentinel, i), 0);
      relay.Notify();
      ASSERT_TRUE(WaitFor([&] { return relay.Stats().published > i; }));
    }
    ASSERT_TRUE(WaitFor([&] {
      absl::MutexLock lock(&mu_);
      return static_cast<int>(sentinel_partitions_.size()) == kPartitions;
    })) << "64 sentinels did not cover the partitions";
  }

  // Each row's number in its shard, by event id.
  std::map<std::string, int64_t> SeqByEventId() {
    auto rows =
        writer_db_->ReadValue<std::vector<db::Row>>([](db::Transaction& tx) {
          return tx.Query("SELECT event_id, shard_seq FROM outbox");
        });
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::map<std::string, int64_t> seq;
    if (rows.ok()) {
      for (const db::Row& row : *rows) seq[row.String(0)] = row.Int(1);
    }
    return seq;
  }

  // Every key's records arrived in the order of their numbers in the shard
  // (the order they committed in).
  void ExpectKeyOrderKept() {
    std::map<std::string, int64_t> seq = SeqByEventId();
    absl::MutexLock lock(&mu_);
    for (const auto& [key, event_ids] : arrivals_) {
      int64_t last = 0;
      for (const std::string& id : event_ids) {
        ASSERT_TRUE(seq.count(id)) << id;
        EXPECT_GT(seq[id], last)
            << "key " << key << ": " << id << " arrived after a later commit";
        last = std::max(last, seq[id]);
      }
    }
  }

  std::string url_;
  std::unique_ptr<db::Database> writer_db_;
  std::vector<std::unique_ptr<db::Database>> relay_dbs_;
  std::unique_ptr<MockCluster> cluster_;
  Config config_;
  RelayOptions options_;
  absl::Mutex mu_;
  std::map<std::string, std::vector<std::string>> arrivals_;  // by key
  std::map<std::string, int> times_seen_;                     // by event id
  std::set<int32_t> sentinel_partitions_;
};

// Writers on several threads commit rows of 12 keys, some holding their
// transaction open a while (so that ids commit out of order), some rolling
// back, while three relays publish: every committed row arrives exactly
// once, none rolled back arrives, and each key's rows arrive in commit
// order.
TEST_P(OutboxShardsTest, ConcurrentWritersOutOfIdOrderThreeRelays) {
  const unsigned seed = std::random_device()();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::vector<std::unique_ptr<OutboxRelay>> relays;
  for (int i = 0; i < 3; ++i) relays.push_back(StartRelay());
  auto consumer = Consume();

  // First, for certain: a row with a lower id commits after a higher one.
  absl::Notification appended, later_committed;
  std::string early_id;
  std::thread slow([&] {
    PaymentCreated p;
    p.set_payment_id("key-slow");
    auto row = EncodeOutboxRow(p, "test");
    ASSERT_TRUE(row.ok());
    early_id = std::string(row->event_id());
    ASSERT_TRUE(writer_db_
                    ->Transact([&](db::Transaction& tx) {
                      absl::Status s = AppendToOutbox(tx, *row);
                      appended.Notify();
                      later_committed.WaitForNotification();
                      return s;
                    })
                    .ok());
  });
  appended.WaitForNotification();
  std::set<std::string> committed;
  // (In another shard: one of the same shard would wait for the slow one.)
  std::string fast_key = "key-fast";
  while (ShardOf(fast_key) == ShardOf("key-slow")) fast_key += "+";
  committed.insert(Commit(fast_key, 1));
  later_committed.Notify();
  slow.join();
  committed.insert(early_id);

  // Then many writers at once.
  absl::Mutex committed_mu;
  std::atomic<int> rolled_back{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 6; ++w) {
    writers.emplace_back([&, w] {
      std::mt19937 random(seed + w);
      for (int i = 0; i < 120; ++i) {
        PaymentCreated p;
        p.set_payment_id(absl::StrCat("key-", random() % 12));
        p.set_amount(i);
        auto row = EncodeOutboxRow(p, "test");
        ASSERT_TRUE(row.ok());
        const bool hold = random() % 3 == 0;
        const bool roll_back = random() % 10 == 0;
        absl::Status s = writer_db_->Transact([&](db::Transaction& tx) {
          absl::Status append = AppendToOutbox(tx, *row);
          if (!append.ok()) return append;
          if (hold) absl::SleepFor(absl::Milliseconds(random() % 15));
          return roll_back ? absl::CancelledError("rolled back on purpose")
                           : absl::OkStatus();
        });
        if (roll_back) {
          ASSERT_TRUE(absl::IsCancelled(s)) << s;
          rolled_back++;
          continue;
        }
        ASSERT_TRUE(s.ok()) << s;
        absl::MutexLock lock(&committed_mu);
        committed.insert(std::string(row->event_id()));
      }
    });
  }
  for (std::thread& t : writers) t.join();
  ASSERT_GT(rolled_back.load(), 0);
  const int expected = static_cast<int>(committed.size());
  ASSERT_TRUE(WaitFor([&] { return Received() >= expected; }))
      << Received() << " of " << expected;
  ASSERT_TRUE(WaitFor([&] {
    auto backlog = ReadBacklog(*writer_db_);
    return backlog.ok() && backlog->pending == 0;
  }));
  // Shards were shared.
  int held = 0;
  for (auto& relay : relays) {
    EXPECT_GT(relay->Stats().shards_held, 0);
    held += relay->Stats().shards_held;
  }
  EXPECT_EQ(held, kOutboxShards);
  // Would a duplicate arrive? Stop all but one relay, then sentinels.
  for (size_t i = 1; i < relays.size(); ++i) relays[i]->Stop();
  ASSERT_NO_FATAL_FAILURE(SendSentinelsThrough(*relays[0]));
  consumer->Stop().IgnoreError();

  {
    absl::MutexLock lock(&mu_);
    EXPECT_EQ(static_cast<int>(times_seen_.size()), expected);
    for (const auto& [event_id, times] : times_seen_) {
      EXPECT_EQ(times, 1) << event_id;
      EXPECT_TRUE(committed.count(event_id)) << event_id << " never committed";
    }
    // The slow row (lower id) arrived although the fast one may have been
    // published before it committed.
    EXPECT_EQ(times_seen_.count(early_id), 1u);
  }
  ExpectKeyOrderKept();
}

// Writers hand their committed rows to the relay in any order, some twice,
// some never (a writer that died after its commit): the relay publishes the
// next row of a shard from memory and reads the others from the table, so
// every row arrives once and each key's rows in commit order.
TEST_P(OutboxShardsTest, HandoffsOutOfOrderRepeatedOrLostKeepKeyOrder) {
  const unsigned seed = std::random_device()();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::cout << "seed " << seed << "\n";
  std::mt19937 random(seed);
  auto relay = StartRelay();
  auto consumer = Consume();
  std::vector<CommittedRow> waiting;  // committed, not yet handed over
  int dropped = 0, repeated = 0;
  auto hand_over_one = [&] {
    const size_t i = random() % waiting.size();
    CommittedRow c = std::move(waiting[i]);
    waiting[i] = std::move(waiting.back());
    waiting.pop_back();
    const unsigned fate = random() % 10;
    if (fate == 0) {
      ++dropped;  // only the table has it
      return;
    }
    if (fate == 1) {
      ++repeated;
      relay->Handoff(c.position, c.row);
    }
    relay->Handoff(c.position, std::move(c.row));
  };
  constexpr int kRows = 400;
  for (int i = 0; i < kRows; ++i) {
    waiting.push_back(CommitRow(absl::StrCat("key-", random() % 8), i));
    // Up to two handoffs per commit, of any row still waiting.
    for (unsigned n = random() % 3; n > 0 && !waiting.empty(); --n) {
      hand_over_one();
    }
  }
  while (!waiting.empty()) hand_over_one();
  ASSERT_GT(dropped, 0);
  ASSERT_GT(repeated, 0);
  ASSERT_TRUE(WaitFor([&] { return Received() >= kRows; }, absl::Seconds(30)))
      << Received() << " of " << kRows;
  ASSERT_NO_FATAL_FAILURE(SendSentinelsThrough(*relay));
  std::cout << relay->Stats().handed_off << " of " << kRows
            << " rows published as handed over\n";
  {
    absl::MutexLock lock(&mu_);
    EXPECT_EQ(static_cast<int>(times_seen_.size()), kRows);
    for (const auto& [event_id, times] : times_seen_) {
      EXPECT_EQ(times, 1) << event_id;
    }
  }
  ExpectKeyOrderKept();
}

// A relay that dies (its leases left to expire) has its shards taken over
// by the others within the lease, and every row it had not confirmed goes
// out; leases spread evenly over the relays alive.
TEST_P(OutboxShardsTest, DeadRelaysShardsAreTakenOverAndBalanced) {
  auto a = StartRelay();
  auto b = StartRelay();
  auto c = StartRelay();
  auto consumer = Consume();
  auto balanced = [](std::vector<OutboxRelay*> relays) {
    const int fair = (kOutboxShards + relays.size() - 1) / relays.size();
    int total = 0;
    for (OutboxRelay* relay : relays) {
      const int held = relay->Stats().shards_held;
      if (held > fair || held < kOutboxShards - fair * (relays.size() - 1)) {
        return false;
      }
      total += held;
    }
    return total == kOutboxShards;
  };
  ASSERT_TRUE(WaitFor([&] {
    return balanced({a.get(), b.get(), c.get()});
  })) << a->Stats().shards_held
      << " " << b->Stats().shards_held << " " << c->Stats().shards_held;

  std::set<std::string> committed;
  for (int i = 0; i < 200; ++i) {
    committed.insert(Commit(absl::StrCat("key-", i % 20), i));
  }
  ASSERT_TRUE(WaitFor([&] { return Received() >= 200; }));
  // c dies; rows keep coming, some of them in its shards.
  c->StopWithoutReleasingForTesting();
  const absl::Time died = absl::Now();
  for (int i = 200; i < 400; ++i) {
    committed.insert(Commit(absl::StrCat("key-", i % 20), i));
  }
  ASSERT_TRUE(WaitFor([&] {
    return a->Stats().shards_held + b->Stats().shards_held == kOutboxShards;
  }));
  const absl::Duration takeover = absl::Now() - died;
  std::cout << "takeover after " << takeover << " (lease " << options_.lease
            << ")\n";
  ASSERT_TRUE(WaitFor([&] { return balanced({a.get(), b.get()}); }));
  ASSERT_TRUE(WaitFor([&] { return Received() >= 400; }))
      << Received() << " of 400";
  // A relay joins again: it gets its share.
  auto d = StartRelay();
  ASSERT_TRUE(WaitFor([&] {
    return balanced({a.get(), b.get(), d.get()});
  })) << a->Stats().shards_held
      << " " << b->Stats().shards_held << " " << d->Stats().shards_held;
  for (int i = 400; i < 500; ++i) {
    committed.insert(Commit(absl::StrCat("key-", i % 20), i));
  }
  ASSERT_TRUE(WaitFor([&] { return Received() >= 500; }));
  consumer->Stop().IgnoreError();
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& id : committed) {
      EXPECT_EQ(times_seen_.count(id), 1u) << id << " never arrived";
    }
  }
  ExpectKeyOrderKept();
}

// A row committed on gateway A and handed to A's relay, which holds no
// shard, goes out through gateway B's relay, which holds them all, on the
// NOTIFY that A's relay sends after the commit: B polls only every minute
// and renews its leases every 15 s, so nothing else would find it within
// the 10 s waited. (The latency is measured by
// tools/bench/outbox_scale_bench.)
TEST_P(OutboxShardsTest, CommitOnOneGatewayWakesTheRelayOfAnother) {
  options_.idle_poll = absl::Minutes(1);
  options_.lease = absl::Minutes(1);
  auto relay_b = StartRelay();
  ASSERT_EQ(relay_b->Stats().shards_held, kOutboxShards);
  auto relay_a = OutboxRelay::Start(*writer_db_, config_, options_);
  ASSERT_TRUE(relay_a.ok()) << relay_a.status();
  ASSERT_EQ((*relay_a)->Stats().shards_held, 0);
  auto consumer = Consume();
  for (int i = 0; i < 5; ++i) {
    CommittedRow c = CommitRow(absl::StrCat("key-", i), 0);
    (*relay_a)->Handoff(c.position, std::move(c.row));
    ASSERT_TRUE(WaitFor([&] { return Received() > i; }, absl::Seconds(10)))
        << "row " << i << " waited for a poll";
  }
  // B published them all; A, still holding none, none.
  EXPECT_EQ((*relay_a)->Stats().shards_held, 0);
  EXPECT_EQ((*relay_a)->Stats().published, 0);
  EXPECT_EQ(relay_b->Stats().published, 5);
}

// The benchmarks' baseline of the cost of coordination (one gateway, rows by
// id, a relay without leases) publishes every row, once, like the real one:
// its figures compare like with like.
TEST_P(OutboxShardsTest, TheBaselineByIdPublishesEveryRowOnce) {
  options_.shard_leases = false;
  auto relay = OutboxRelay::Start(*writer_db_, config_, options_);
  ASSERT_TRUE(relay.ok()) << relay.status();
  auto consumer = Consume();
  constexpr int kWriters = 4, kRows = 50;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kRows; ++i) {
        CommittedRow c = CommitRow(absl::StrCat("key-", w, "-", i % 7), i,
                                   /*by_id=*/true);
        EXPECT_EQ(c.position.seq, 0);
        (*relay)->Handoff(c.position, std::move(c.row));
      }
    });
  }
  for (std::thread& t : writers) t.join();
  ASSERT_TRUE(WaitFor([&] { return Received() == kWriters * kRows; },
                      absl::Seconds(30)))
      << Received();
  SendSentinelsThrough(**relay);
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(times_seen_.size(), static_cast<size_t>(kWriters * kRows));
  for (const auto& [event_id, times] : times_seen_) {
    EXPECT_EQ(times, 1) << event_id;
  }
}

// Deliveries of rows of many shards (ids interleaved, no runs) are marked
// in one statement: exactly the rows delivered leave the backlog.
TEST_P(OutboxShardsTest, MarkPublishedMarksInterleavedIds) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 40; ++i) {
    PaymentCreated p;
    p.set_payment_id(absl::StrCat("key-", i));
    auto row = EncodeOutboxRow(p, "test");
    ASSERT_TRUE(row.ok());
    int64_t id = 0;
    ASSERT_TRUE(writer_db_
                    ->Transact([&](db::Transaction& tx) {
                      return AppendToOutbox(tx, *row, &id);
                    })
                    .ok());
    ids.push_back(id);
  }
  // Every third row, newest first.
  std::vector<int64_t> delivered;
  for (size_t i = 0; i < ids.size(); i += 3) delivered.push_back(ids[i]);
  std::reverse(delivered.begin(), delivered.end());
  ASSERT_TRUE(MarkPublished(*writer_db_, delivered).ok());
  auto backlog = ReadBacklog(*writer_db_);
  ASSERT_TRUE(backlog.ok()) << backlog.status();
  EXPECT_EQ(backlog->pending,
            static_cast<int64_t>(ids.size() - delivered.size()));
  auto pending =
      writer_db_->ReadValue<std::vector<db::Row>>([](db::Transaction& tx) {
        return tx.Query("SELECT id FROM outbox WHERE published_at IS NULL");
      });
  ASSERT_TRUE(pending.ok()) << pending.status();
  for (const db::Row& row : *pending) {
    EXPECT_EQ(std::count(delivered.begin(), delivered.end(), row.Int(0)), 0)
        << "row " << row.Int(0) << " was delivered";
  }
}

// A notice lists shards with their highest number committed; junk is left
// out.
TEST(CommitNotices, FormatAndParse) {
  const std::string payload = FormatCommitNotices({{3, 17}, {40, 2}});
  EXPECT_EQ(payload, "3:17,40:2");
  std::vector<CommitNotice> notices = ParseCommitNotices(payload);
  ASSERT_EQ(notices.size(), 2u);
  EXPECT_EQ(notices[0].shard, 3);
  EXPECT_EQ(notices[0].seq, 17);
  EXPECT_EQ(notices[1].shard, 40);
  EXPECT_EQ(notices[1].seq, 2);
  EXPECT_EQ(ParseCommitNotices("5:1").size(), 1u);  // one shard
  EXPECT_TRUE(ParseCommitNotices("").empty());
  notices = ParseCommitNotices("64:1,-1:2,x:3,7,8:y,9:4");
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].shard, 9);
}

// Outbox migrations 1-4 with rows pending, then 5: the pending rows are
// numbered in shard 0 and published; new rows go to their shards.
TEST_P(OutboxShardsTest, UpgradeNumbersPendingRows) {
  const std::string url = DatabaseUrl("upgrade");
  auto db = db::Database::Open(url);
  ASSERT_TRUE(db.ok()) << db.status();
  std::vector<db::Migration> migrations = OutboxMigrations();
  std::vector<db::Migration> before(migrations.begin(), migrations.begin() + 4);
  ASSERT_TRUE(db::Migrate(**db, "outbox", before).ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE((*db)
                    ->Transact([&](db::Transaction& tx) {
                      return tx
                          .Execute(
                              "INSERT INTO outbox(event_id, topic, msg_key,"
                              " headers, value, created_at)"
                              " VALUES (?, 'payment.created', ?, ?, ?, 0)",
                              {absl::StrCat("old-", i), absl::StrCat("k", i),
                               db::Bytes{EncodeHeaders({}, "")}, db::Bytes{""}})
                          .status();
                    })
                    .ok());
  }
  ASSERT_TRUE(db::Migrate(**db, "outbox", migrations).ok());
  auto scan = FetchPendingInShards(**db, {{0, 0}}, 100);
  ASSERT_TRUE(scan.ok()) << scan.status();
  ASSERT_EQ(scan->rows.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(scan->rows[i].seq, i + 1);
  RowPosition position;
  ASSERT_TRUE((*db)
                  ->Transact([&](db::Transaction& tx) {
                    PaymentCreated p;
                    p.set_payment_id("new");
                    auto row = EncodeOutboxRow(p, "test");
                    if (!row.ok()) return row.status();
                    return AppendToOutbox(tx, *row, &position);
                  })
                  .ok());
  EXPECT_EQ(position.shard, ShardOf("new"));
  EXPECT_EQ(position.seq, position.shard == 0 ? 6 : 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, OutboxShardsTest,
                         ::testing::Values(db::testing::Backend::kPostgres),
                         db::testing::BackendParamName);

}  // namespace
}  // namespace outbox
}  // namespace herald
