// The outbox on SQLite and PostgreSQL with the mock cluster: rows committed
// are published in order and marked; a broker outage delays, never loses.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "contracts/v1/payments.pb.h"
#include "database/database.h"
#include "database/migrations.h"
#include "database/testing/backends.h"
#include "messaging/consumer.h"
#include "messaging/envelope.h"
#include "messaging/mock_cluster.h"
#include "messaging/outbox/outbox_relay.h"
#include "messaging/outbox/outbox_store.h"
#include "messaging/testing/test_support.h"

namespace herald {
namespace outbox {
namespace {

using contracts::v1::PaymentCreated;
using db::testing::Backend;
using herald::MockCluster;
using herald::testing::RunningConsumer;
using herald::testing::TestConfig;
using herald::testing::WaitFor;

class OutboxTest : public db::testing::ForEachBackend {
 protected:
  void SetUp() override {
    ForEachBackend::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto database = db::Database::Open(DatabaseUrl());
    ASSERT_TRUE(database.ok()) << database.status();
    db_ = *std::move(database);
    ASSERT_TRUE(db::Migrate(*db_, "outbox", OutboxMigrations()).ok());
    auto cluster = MockCluster::Start(1);
    ASSERT_TRUE(cluster.ok());
    cluster_ = *std::move(cluster);
    ASSERT_TRUE(cluster_->CreateTopic("payment.created", 3).ok());
    config_ = TestConfig(*cluster_, "outbox-test");
  }

  // Commits `n` events for `keys` keys into the outbox.
  void Append(int n, int keys, int first = 0) {
    for (int i = first; i < first + n; ++i) {
      PaymentCreated p;
      p.set_payment_id(absl::StrCat("pay_", i % keys));
      p.set_amount(i);
      auto message = EncodeEvent(p, "test");
      ASSERT_TRUE(message.ok());
      ASSERT_TRUE(db_->Transact([&](db::Transaction& tx) {
                       return AppendToOutbox(tx, *message);
                     })
                      .ok());
    }
  }

  // Consumes and records amounts per key, in arrival order (sentinels
  // apart, by partition).
  std::unique_ptr<RunningConsumer> Consume() {
    auto consumer = Consumer::Create(config_);
    EXPECT_TRUE(consumer.ok());
    EXPECT_TRUE((*consumer)
                    ->Subscribe<PaymentCreated>(
                        [this](const PaymentCreated& p, const Metadata& meta) {
                          absl::MutexLock lock(&mu_);
                          if (absl::StartsWith(p.payment_id(), kSentinel)) {
                            sentinel_partitions_.insert(meta.partition);
                            sentinels_++;
                            return absl::OkStatus();
                          }
                          seen_[p.payment_id()].push_back(p.amount());
                          total_++;
                          return absl::OkStatus();
                        })
                    .ok());
    return std::make_unique<RunningConsumer>(*std::move(consumer));
  }

  // Commits sentinel events behind everything committed so far, one at a
  // time, until one has arrived on each partition of payment.created. The
  // relay publishes rows in id order and a partition is read in order, so
  // by then the consumer (Consume()) has received every record the relay
  // published before them: "nothing more arrived" needs no sleep.
  void SendSentinelsThrough(OutboxRelay& relay) {
    constexpr int kPartitions = 3;  // SetUp()
    for (int i = 0; i < 64; ++i) {
      {
        absl::MutexLock lock(&mu_);
        if (static_cast<int>(sentinel_partitions_.size()) == kPartitions) {
          return;
        }
      }
      PaymentCreated p;
      p.set_payment_id(absl::StrCat(kSentinel, i));
      auto message = EncodeEvent(p, "test");
      ASSERT_TRUE(message.ok());
      ASSERT_TRUE(db_->Transact([&](db::Transaction& tx) {
                       return AppendToOutbox(tx, *message);
                     })
                      .ok());
      relay.Notify();
      ASSERT_TRUE(WaitFor([&] {
        absl::MutexLock lock(&mu_);
        return sentinels_ > i;
      })) << "sentinel "
          << i << " never arrived";
    }
    FAIL() << "64 sentinels did not cover " << kPartitions << " partitions";
  }

  int total() {
    absl::MutexLock lock(&mu_);
    return total_;
  }

  // Rows carrying a published mark of their own.
  int64_t MarkedRows() {
    auto rows = db_->ReadValue<std::vector<db::Row>>([](db::Transaction& tx) {
      return tx.Query(
          "SELECT COUNT(*) FROM outbox WHERE published_at IS NOT NULL");
    });
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? (*rows)[0].Int(0) : -1;
  }

  static constexpr char kSentinel[] = "sentinel-";
  std::unique_ptr<db::Database> db_;
  std::unique_ptr<MockCluster> cluster_;
  Config config_;
  absl::Mutex mu_;
  std::map<std::string, std::vector<int64_t>> seen_;
  int total_ = 0;
  std::set<int32_t> sentinel_partitions_;
  int sentinels_ = 0;
};

// Rows handed to the relay by their writer, rows only announced, and rows
// nobody announced, mixed: each is published exactly once, in key order, and
// once the relay has caught up it publishes handed rows from memory.
TEST_P(OutboxTest, HandoffsMixedWithScannedRowsArriveOnceInOrder) {
  Append(100, 5);  // a backlog from before the start
  auto relay = OutboxRelay::Start(*db_, config_);
  ASSERT_TRUE(relay.ok()) << relay.status();
  auto consumer = Consume();
  auto commit = [&](int i, RowPosition* position) {
    PaymentCreated p;
    p.set_payment_id(absl::StrCat("pay_", i % 5));
    p.set_amount(i);
    auto message = EncodeEvent(p, "test");
    EXPECT_TRUE(message.ok());
    OutboxRow row = PrepareOutboxRow(*message);
    EXPECT_TRUE(db_->Transact([&](db::Transaction& tx) {
                     return AppendToOutbox(tx, row, position);
                   })
                    .ok());
    return row;
  };
  for (int i = 100; i < 400; ++i) {
    RowPosition position;
    OutboxRow row = commit(i, &position);
    ASSERT_GT(position.id, 0);
    if (i % 7 == 0) continue;  // nobody announces it: a scan finds it
    if (i % 3 == 0) {
      (*relay)->Notify();
    } else {
      (*relay)->Handoff(position, std::move(row));
    }
  }
  ASSERT_TRUE(WaitFor([&] {
    auto backlog = ReadBacklog(*db_);
    return backlog.ok() && backlog->pending == 0;
  }));
  // Caught up: consecutive handoffs now go straight out.
  const int64_t handed_before = (*relay)->Stats().handed_off;
  for (int i = 400; i < 500; ++i) {
    RowPosition position;
    OutboxRow row = commit(i, &position);
    (*relay)->Handoff(position, std::move(row));
  }
  ASSERT_TRUE(WaitFor([&] { return total() >= 500; })) << total();
  ASSERT_TRUE(WaitFor([&] {
    auto backlog = ReadBacklog(*db_);
    return backlog.ok() && backlog->pending == 0;
  }));
  EXPECT_GT((*relay)->Stats().handed_off - handed_before, 50);
  EXPECT_EQ((*relay)->Stats().published, 500);
  // Would a duplicate arrive before the sentinels?
  ASSERT_NO_FATAL_FAILURE(SendSentinelsThrough(**relay));
  consumer->Stop().IgnoreError();
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(total_, 500);
  for (const auto& [key, amounts] : seen_) {
    EXPECT_TRUE(std::is_sorted(amounts.begin(), amounts.end())) << key;
    EXPECT_EQ(amounts.size(), 100u) << key;
  }
}

// What goes out is what was stored, headers included, whether the relay
// reads the row back or is handed it: the encoded row is never re-encoded.
TEST_P(OutboxTest, RecordsCarryExactlyTheHeadersStored) {
  auto relay = OutboxRelay::Start(*db_, config_);
  ASSERT_TRUE(relay.ok()) << relay.status();
  absl::Mutex mu;
  std::map<std::string, Headers> received;  // by event id
  auto consumer = Consumer::Create(config_);
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)
                  ->Subscribe<PaymentCreated>([&](const PaymentCreated&,
                                                  const Metadata& meta) {
                    absl::MutexLock lock(&mu);
                    received[std::string(meta.event_id)] = meta.AllHeaders();
                    return absl::OkStatus();
                  })
                  .ok());
  RunningConsumer running(*std::move(consumer));
  PaymentCreated payment;
  payment.set_payment_id("pay_1");
  // A message with headers of its own: known names, unknown names, bytes.
  auto scanned = EncodeEvent(payment, "test");
  ASSERT_TRUE(scanned.ok());
  scanned->headers.emplace_back("traceparent", "00-abc-def-01");
  scanned->headers.emplace_back("x-custom", std::string("\0\xff", 2));
  ASSERT_TRUE(db_->Transact([&](db::Transaction& tx) {
                   return AppendToOutbox(tx, *scanned);
                 })
                  .ok());
  (*relay)->Notify();
  ASSERT_TRUE(WaitFor([&] {
    auto backlog = ReadBacklog(*db_);
    return backlog.ok() && backlog->pending == 0;
  }));
  // An event encoded straight into its row, as the gateway does, handed
  // over after its commit.
  auto handed = EncodeOutboxRow(payment, "gateway");
  ASSERT_TRUE(handed.ok()) << handed.status();
  auto handed_message = ToMessage(*handed);
  ASSERT_TRUE(handed_message.ok());
  int64_t id = 0;
  ASSERT_TRUE(db_->Transact([&](db::Transaction& tx) {
                   return AppendToOutbox(tx, *handed, &id);
                 })
                  .ok());
  (*relay)->Handoff(id, *std::move(handed));
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return received.size() == 2;
  }));
  running.Stop().IgnoreError();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(received[scanned->event_id], scanned->headers);
  const Headers& got = received[handed_message->event_id];
  EXPECT_EQ(got, handed_message->headers);
  // The same CloudEvents headers, in the same order, as EncodeEvent writes.
  std::vector<std::string> names;
  for (const auto& [name, value] : got) names.push_back(name);
  EXPECT_THAT(names,
              ::testing::ElementsAre("ce_specversion", "ce_id", "ce_type",
                                     "ce_source", "ce_time", "content-type"));
  EXPECT_EQ(*FindHeader(got, "ce_type"), "herald.contracts.v1.PaymentCreated");
  EXPECT_EQ(*FindHeader(got, "ce_source"), "gateway");
  EXPECT_TRUE(ParseEventTime(*FindHeader(got, "ce_time")).ok());
}

TEST_P(OutboxTest, PublishesEveryRowInKeyOrderAndMarksIt) {
  Append(200, 7);
  auto relay = OutboxRelay::Start(*db_, config_);
  ASSERT_TRUE(relay.ok()) << relay.status();
  auto consumer = Consume();
  ASSERT_TRUE(WaitFor([&] { return total() >= 200; })) << total();
  ASSERT_TRUE(WaitFor([&] {
    auto backlog = ReadBacklog(*db_);
    return backlog.ok() && backlog->pending == 0;
  }));
  EXPECT_EQ((*relay)->Stats().published, 200);
  // SQLite records the deliveries as a position; PostgreSQL, where a lower
  // id can commit after a higher one, marks each row.
  const bool sqlite = GetParam() == Backend::kSqlite;
  EXPECT_EQ(*ReadPublishedThrough(*db_), sqlite ? 200 : 0);
  if (!sqlite) {
    EXPECT_EQ(MarkedRows(), 200);
  }
  consumer->Stop().IgnoreError();
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(total_, 200);  // exactly once here: nothing failed
  for (const auto& [key, amounts] : seen_) {
    EXPECT_TRUE(std::is_sorted(amounts.begin(), amounts.end())) << key;
  }
}

// A row Kafka refuses (here: over the producer's message.max.bytes) stays
// pending and holds the position below it; the rows after it are delivered
// and marked one by one.
TEST_P(OutboxTest, UndeliverableRowStaysPendingAndHoldsThePosition) {
  Append(5, 1);
  OutgoingMessage huge;
  huge.event_id = "too-large";
  huge.topic = "payment.created";
  huge.key = "pay_0";
  huge.value = std::string(2 << 20, 'x');
  ASSERT_TRUE(db_->Transact([&](db::Transaction& tx) {
                   return AppendToOutbox(tx, huge);
                 })
                  .ok());
  Append(5, 1, 5);
  auto relay = OutboxRelay::Start(*db_, config_);
  ASSERT_TRUE(relay.ok()) << relay.status();
  ASSERT_TRUE(WaitFor([&] { return (*relay)->Stats().published == 10; }))
      << (*relay)->Stats().published;
  EXPECT_GT((*relay)->Stats().publish_failures, 0);
  auto backlog = ReadBacklog(*db_);
  ASSERT_TRUE(backlog.ok());
  EXPECT_EQ(backlog->pending, 1);
  const bool sqlite = GetParam() == Backend::kSqlite;
  EXPECT_EQ(*ReadPublishedThrough(*db_), sqlite ? 5 : 0);
  EXPECT_EQ(MarkedRows(), sqlite ? 5 : 10);
  auto pending = FetchPending(*db_, 0, 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].row.event_id(), "too-large");
  // Pruning keeps it too.
  (*relay)->Stop();
  EXPECT_EQ(*PrunePublished(*db_, absl::Now() + absl::Seconds(1)), 9);
  EXPECT_EQ(ReadBacklog(*db_)->pending, 1);
}

TEST_P(OutboxTest, BrokerDownRowsWaitThenAllArrive) {
  auto relay = OutboxRelay::Start(*db_, config_);
  ASSERT_TRUE(relay.ok());
  ASSERT_TRUE(cluster_->SetBrokerDown(1).ok());
  Append(50, 5);
  (*relay)->Notify();
  // The relay has handed every row to the producer; the outage lasts 1 s.
  ASSERT_TRUE(WaitFor([&] { return (*relay)->Stats().in_flight == 50; }))
      << (*relay)->Stats().in_flight;
  absl::SleepFor(absl::Seconds(1));
  auto backlog = ReadBacklog(*db_);
  ASSERT_TRUE(backlog.ok());
  EXPECT_EQ(backlog->pending, 50) << "nothing can be confirmed while down";
  ASSERT_TRUE(cluster_->SetBrokerUp(1).ok());
  auto consumer = Consume();
  ASSERT_TRUE(WaitFor([&] { return total() >= 50; }, absl::Seconds(60)))
      << total();
  ASSERT_TRUE(WaitFor([&] {
    auto b = ReadBacklog(*db_);
    return b.ok() && b->pending == 0;
  }));
  consumer->Stop().IgnoreError();
  absl::MutexLock lock(&mu_);
  std::set<int64_t> amounts;
  for (const auto& [key, list] : seen_)
    amounts.insert(list.begin(), list.end());
  EXPECT_EQ(amounts.size(), 50u);
}

TEST_P(OutboxTest, RestartedRelayPublishesWhatWasPending) {
  Append(30, 3);
  {
    // A relay that cannot reach Kafka is stopped with everything pending,
    // like a gateway killed before publishing.
    Config nowhere = config_;
    nowhere.brokers = "127.0.0.1:1";
    auto relay = OutboxRelay::Start(*db_, nowhere);
    ASSERT_TRUE(relay.ok());
    absl::SleepFor(absl::Milliseconds(300));
  }
  EXPECT_EQ(ReadBacklog(*db_)->pending, 30);
  auto relay = OutboxRelay::Start(*db_, config_);
  ASSERT_TRUE(relay.ok());
  auto consumer = Consume();
  ASSERT_TRUE(WaitFor([&] { return total() >= 30; })) << total();
  consumer->Stop().IgnoreError();
}

TEST_P(OutboxTest, FatalProducerErrorRecreatesTheProducerAndLosesNothing) {
  auto relay = OutboxRelay::Start(*db_, config_);
  ASSERT_TRUE(relay.ok());
  auto consumer = Consume();
  Append(10, 2);
  (*relay)->Notify();
  ASSERT_TRUE(WaitFor([&] { return total() >= 10; }));
  (*relay)->InjectFatalErrorForTesting();
  ASSERT_TRUE(
      WaitFor([&] { return (*relay)->Stats().producer_restarts == 1; }));
  Append(10, 2, 10);
  (*relay)->Notify();
  ASSERT_TRUE(WaitFor([&] {
    auto b = ReadBacklog(*db_);
    return total() >= 20 && b.ok() && b->pending == 0;
  })) << total();
  consumer->Stop().IgnoreError();
}

TEST_P(OutboxTest, PublishedRowsArePrunedAfterRetention) {
  Append(5, 1);
  auto relay = OutboxRelay::Start(*db_, config_);
  ASSERT_TRUE(relay.ok());
  ASSERT_TRUE(WaitFor([&] { return ReadBacklog(*db_)->pending == 0; }));
  // The relay stops first: on PostgreSQL a writer's NOTIFY wakes it at once,
  // and it could publish the next rows before they are counted as pending.
  relay->reset();
  Append(3, 1, 5);  // pending: never pruned
  auto pruned = PrunePublished(*db_, absl::Now() + absl::Seconds(1));
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 5);
  auto left = db_->TransactValue<std::vector<db::Row>>([](db::Transaction& tx) {
    return tx.Query("SELECT COUNT(*) FROM outbox");
  });
  ASSERT_TRUE(left.ok());
  EXPECT_EQ((*left)[0].Int(0), 3);
}

TEST_P(OutboxTest, PruningKeepsTheNewestRowSoIdsOnlyGrow) {
  Append(4, 1);
  auto relay = OutboxRelay::Start(*db_, config_);
  ASSERT_TRUE(relay.ok());
  ASSERT_TRUE(WaitFor([&] { return ReadBacklog(*db_)->pending == 0; }));
  (*relay)->Stop();
  // All four are published and old enough; the newest one stays.
  auto pruned = PrunePublished(*db_, absl::Now() + absl::Seconds(1));
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(*pruned, 3);
  // Rows created after the cutoff are not touched either.
  EXPECT_EQ(*PrunePublished(*db_, absl::Now() - absl::Hours(1)), 0);
  Append(1, 1, 4);
  auto ids = db_->TransactValue<std::vector<db::Row>>([](db::Transaction& tx) {
    return tx.Query("SELECT id FROM outbox ORDER BY id");
  });
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 2u);
  EXPECT_EQ((*ids)[0].Int(0), 4);
  EXPECT_EQ((*ids)[1].Int(0), 5);
}

// A database made by the first schema keeps its rows, pending state and ids
// through the upgrade, and new ids follow the old ones.
TEST(OutboxStoreTest, UpgradeFromTheFirstSchemaKeepsRows) {
  const std::string url =
      absl::StrCat("sqlite:", getenv("TEST_TMPDIR"), "/upgrade.db");
  std::remove(url.substr(7).c_str());
  auto db = db::Database::Open(url);
  ASSERT_TRUE(db.ok());
  std::vector<db::Migration> all = OutboxMigrations();
  ASSERT_TRUE(db::Migrate(**db, "outbox", {all[0]}).ok());
  OutgoingMessage message;
  message.topic = "payment.created";
  message.key = "k";
  message.value = "v";
  for (int i = 0; i < 3; ++i) {
    message.event_id = absl::StrCat("e", i);
    ASSERT_TRUE((*db)
                    ->Transact([&](db::Transaction& tx) {
                      return AppendToOutbox(tx, message);
                    })
                    .ok());
  }
  ASSERT_TRUE(MarkPublished(**db, {1}).ok());
  ASSERT_TRUE(db::Migrate(**db, "outbox", all).ok());
  auto pending = FetchPending(**db, 0, 10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].id, 2);
  EXPECT_EQ((*pending)[0].row.event_id(), "e1");
  int64_t id = 0;
  ASSERT_TRUE((*db)
                  ->Transact([&](db::Transaction& tx) {
                    return AppendToOutbox(tx, message, &id);
                  })
                  .ok());
  EXPECT_EQ(id, 4);
}

TEST(OutboxStoreTest, HeadersRoundTripAndCorruptionIsAnError) {
  const std::string id = "0b5e6f1c-3a43-4c2a-9d1e-55f2a9c1e001";
  Headers headers = {{"a", std::string("\0\1", 2)},
                     {"", ""},
                     {"ce_id", "not the event id"},
                     {"ce_specversion", "2.0"},
                     {"content-type", "application/protobuf"},
                     {"ce_id", id},
                     {"traceparent", std::string(300, 't')}};
  auto decoded = DecodeHeaders(EncodeHeaders(headers, id), id);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, headers);
  EXPECT_TRUE(DecodeHeaders(EncodeHeaders({}, id), id)->empty());
  const std::string encoded = EncodeHeaders(headers, id);
  for (size_t cut : {size_t{5}, encoded.size() - 1}) {
    EXPECT_EQ(DecodeHeaders(encoded.substr(0, cut), id).status().code(),
              absl::StatusCode::kDataLoss)
        << cut;
  }
  EXPECT_FALSE(DecodeHeaders(std::string("\xff\xff\x02\x60", 4), id).ok());
  EXPECT_FALSE(DecodeHeaders("\x05\0\0\0ab", id).ok());
}

TEST(OutboxStoreTest, AnEventsHeadersTakeAByteEachButTheirValues) {
  PaymentCreated payment;
  payment.set_payment_id("pay_1");
  auto message = EncodeEvent(payment, "gateway");
  ASSERT_TRUE(message.ok());
  const std::string encoded =
      EncodeHeaders(message->headers, message->event_id);
  // The type, the source and the time; the rest is one byte each.
  const size_t values =
      std::string("herald.contracts.v1.PaymentCreated").size() +
      std::string("gateway").size() +
      FindHeader(message->headers, "ce_time")->size();
  EXPECT_LE(encoded.size(), values + 12) << encoded.size();
  auto decoded = DecodeHeaders(encoded, message->event_id);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, message->headers);
}

// Rows written by earlier versions (format 1) are still published as they
// were stored.
TEST(OutboxStoreTest, HeadersOfEarlierVersionsStillDecode) {
  auto u32 = [](uint32_t n) {
    return std::string{static_cast<char>(n), static_cast<char>(n >> 8),
                       static_cast<char>(n >> 16), static_cast<char>(n >> 24)};
  };
  const std::string format1 = u32(5) + "ce_id" + u32(3) + "e-1" + u32(2) +
                              "ab" + u32(0) + u32(0) + u32(0);
  auto decoded = DecodeHeaders(format1, "e-1");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, (Headers{{"ce_id", "e-1"}, {"ab", ""}, {"", ""}}));
}

// SQLite serves one gateway: a second relay on the same file (another
// gateway) refuses to start, naming the setting, until the first stops.
// PostgreSQL takes several (outbox_shards_test).
TEST_P(OutboxTest, SecondRelayOnOneSqliteFileRefusesToStart) {
  auto first = OutboxRelay::Start(*db_, config_);
  ASSERT_TRUE(first.ok()) << first.status();
  auto other_db = db::Database::Open(DatabaseUrl());
  ASSERT_TRUE(other_db.ok()) << other_db.status();
  auto second = OutboxRelay::Start(**other_db, config_);
  if (backend() == Backend::kPostgres) {
    EXPECT_TRUE(second.ok()) << second.status();
    return;
  }
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(second.status())) << second.status();
  EXPECT_THAT(std::string(second.status().message()),
              ::testing::AllOf(::testing::HasSubstr("`db`"),
                               ::testing::HasSubstr("postgresql://"),
                               ::testing::HasSubstr("one gateway")));
  (*first)->Stop();
  auto after_stop = OutboxRelay::Start(**other_db, config_);
  EXPECT_TRUE(after_stop.ok()) << after_stop.status();
}

INSTANTIATE_TEST_SUITE_P(Backends, OutboxTest,
                         ::testing::ValuesIn(db::testing::AllBackends()),
                         db::testing::BackendParamName);

}  // namespace
}  // namespace outbox
}  // namespace herald
