// heraldctl dlq against the mock cluster: list shows each dead letter's
// origin and failure; replay puts the original record back (same ce_id,
// key, value and headers, marked as replayed) and a worker's inbox makes a
// second replay change nothing.
#include "tools/heraldctl/dlq.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "contracts/v1/payments.pb.h"
#include "database/database.h"
#include "database/migrations.h"
#include "messaging/dead_letter.h"
#include "messaging/envelope.h"
#include "messaging/inbox/exactly_once.h"
#include "messaging/inbox/inbox.h"
#include "messaging/mock_cluster.h"
#include "messaging/producer.h"
#include "messaging/tail_reader.h"
#include "messaging/testing/test_support.h"

namespace herald {
namespace ctl {
namespace {

using ::testing::HasSubstr;

class DlqTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = MockCluster::Start(1);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    ASSERT_TRUE(cluster_->CreateTopic("payment.created", 1).ok());
    ASSERT_TRUE(cluster_->CreateTopic("payment.created.dlq", 1).ok());
    config_ = testing::TestConfig(*cluster_, "dlq-test-group");
    auto producer = Producer::Create(config_);
    ASSERT_TRUE(producer.ok());
    producer_ = *std::move(producer);
  }

  // Dead-letters a payment as a consumer would: its record, provenance
  // headers added.
  OutgoingMessage DeadLetter(const std::string& payment_id, int64_t offset) {
    contracts::v1::PaymentCreated payment;
    payment.set_payment_id(payment_id);
    payment.set_amount(1999);
    auto record = EncodeEvent(payment, "gateway");
    EXPECT_TRUE(record.ok());
    record->headers.emplace_back("traceparent", "00-abc-def-01");
    FailedRecord failed;
    failed.topic = "payment.created";
    failed.partition = 0;
    failed.offset = offset;
    failed.timestamp_ms = 1764000000000;
    failed.consumer_group = "email-worker-group";
    failed.key = record->key;
    failed.value = record->value;
    failed.headers = record->headers;
    failed.error = absl::UnavailableError("smtp down");
    failed.attempts = 5;
    EXPECT_TRUE(producer_->Publish(DeadLetterRecord(failed)).get().ok());
    return *record;
  }

  std::unique_ptr<MockCluster> cluster_;
  Config config_;
  std::unique_ptr<Producer> producer_;
};

TEST_F(DlqTest, ListsOriginAttemptsErrorKeyAndEventId) {
  OutgoingMessage first = DeadLetter("pay_1", 7);
  DeadLetter("pay_2", 8);
  auto letters = ReadDeadLetters(config_, "payment.created.dlq");
  ASSERT_TRUE(letters.ok()) << letters.status();
  ASSERT_EQ(letters->size(), 2u);
  const std::string line = FormatDeadLetter((*letters)[0], absl::Now());
  EXPECT_THAT(line, HasSubstr("payment.created.dlq/0@0 from "
                              "payment.created/0@7 attempts=5 age="));
  EXPECT_THAT(line, HasSubstr("key=pay_1 id=" + first.event_id));
  EXPECT_THAT(line, HasSubstr("group=email-worker-group error=smtp down"));
  auto limited = ReadDeadLetters(config_, "payment.created.dlq", 1);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 1u);
  EXPECT_FALSE(ReadDeadLetters(config_, "payment.created").ok());
}

TEST_F(DlqTest, AReplayedRecordIsTheOriginalMarkedAsReplayed) {
  OutgoingMessage original = DeadLetter("pay_1", 7);
  auto letters = ReadDeadLetters(config_, "payment.created.dlq");
  ASSERT_TRUE(letters.ok());
  ASSERT_EQ(letters->size(), 1u);
  OutgoingMessage replay = ReplayRecord((*letters)[0]);
  EXPECT_EQ(replay.topic, "payment.created");
  EXPECT_EQ(replay.key, original.key);
  EXPECT_EQ(replay.value, original.value);
  EXPECT_EQ(replay.event_id, original.event_id);
  Headers expected = original.headers;
  expected.emplace_back(kReplayedFrom, "payment.created.dlq/0@0");
  EXPECT_EQ(replay.headers, expected);  // no kafka_dlt-* provenance
}

TEST_F(DlqTest, FiltersAndDryRunPublishNothing) {
  DeadLetter("pay_1", 7);
  OutgoingMessage second = DeadLetter("pay_2", 8);
  std::vector<std::string> lines;
  auto print = [&](const std::string& line) { lines.push_back(line); };
  ReplayFilter by_key;
  by_key.key = "pay_2";
  auto dry = ReplayDeadLetters(config_, "payment.created.dlq", by_key,
                               /*dry_run=*/true, print);
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_EQ(*dry, 1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("would replay payment.created.dlq/0@1"));
  ReplayFilter by_id;
  by_id.event_id = second.event_id;
  ReplayFilter by_offset;
  by_offset.offset = 0;
  ReplayFilter none;
  none.event_id = "no-such-id";
  for (const ReplayFilter& filter : {by_id, by_offset, none}) {
    auto n =
        ReplayDeadLetters(config_, "payment.created.dlq", filter, true, print);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, filter.event_id == "no-such-id" ? 0 : 1);
  }
  // Nothing reached payment.created.
  auto reader = TailReader::Create(config_);
  ASSERT_TRUE(reader.ok());
  auto marks = (*reader)->Watermarks({"payment.created"}, absl::Seconds(10));
  ASSERT_TRUE(marks.ok());
  EXPECT_EQ((*marks)["payment.created"][0].high, 0);
}

// The replay's point: a worker whose handler is inbox-backed handles the
// replayed event once, however often it is replayed.
TEST_F(DlqTest, ASecondReplayHasNoSecondEffectAtAnInboxBackedWorker) {
  OutgoingMessage original = DeadLetter("pay_1", 7);
  std::vector<std::string> lines;
  auto print = [&](const std::string& line) { lines.push_back(line); };
  for (int round = 0; round < 2; ++round) {
    auto replayed = ReplayDeadLetters(config_, "payment.created.dlq", {},
                                      /*dry_run=*/false, print);
    ASSERT_TRUE(replayed.ok()) << replayed.status();
    EXPECT_EQ(*replayed, 1);
  }
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("replayed payment.created.dlq/0@0 (id=" +
                                  original.event_id +
                                  " key=pay_1) to payment.created/0@0"));
  EXPECT_THAT(lines[1], HasSubstr("to payment.created/0@1"));
  // A sentinel after the two replays.
  contracts::v1::PaymentCreated sentinel;
  sentinel.set_payment_id("pay_sentinel");
  ASSERT_TRUE(producer_->Send(sentinel).get().ok());

  const std::string path =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/worker.db");
  auto db = db::Database::Open("sqlite:" + path);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(db::Migrate(**db, "inbox", inbox::InboxMigrations()).ok());
  ASSERT_TRUE((*db)
                  ->Transact([](db::Transaction& tx) {
                    return tx
                        .Execute(
                            "CREATE TABLE effects (payment_id TEXT, "
                            "replayed_from TEXT)")
                        .status();
                  })
                  .ok());
  auto consumer = Consumer::Create(config_);
  ASSERT_TRUE(consumer.ok());
  std::atomic<int> deliveries{0};
  std::atomic<bool> sentinel_seen{false};
  inbox::Effect<contracts::v1::PaymentCreated> effect =
      [](db::Transaction& tx, const contracts::v1::PaymentCreated& payment,
         const Metadata& meta) {
        std::string from(meta.Header(kReplayedFrom).value_or(""));
        return tx
            .Execute("INSERT INTO effects VALUES (?, ?)",
                     {payment.payment_id(), from})
            .status();
      };
  auto handler = inbox::ExactlyOnceEach<contracts::v1::PaymentCreated>(
      **db, "test-worker", effect);
  ASSERT_TRUE((*consumer)
                  ->Subscribe<contracts::v1::PaymentCreated>(
                      [&](const contracts::v1::PaymentCreated& payment,
                          const Metadata& meta) {
                        absl::Status s = handler(payment, meta);
                        if (payment.payment_id() == "pay_sentinel") {
                          sentinel_seen = true;
                        } else {
                          ++deliveries;
                        }
                        return s;
                      })
                  .ok());
  testing::RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(testing::WaitFor([&] { return sentinel_seen.load(); }));
  ASSERT_TRUE(running.Stop().ok());
  EXPECT_EQ(deliveries, 2);  // both replays arrived...
  auto rows = (*db)->ReadValue<std::vector<db::Row>>([](db::Transaction& tx) {
    return tx.Query(
        "SELECT payment_id, replayed_from FROM effects"
        " WHERE payment_id = 'pay_1'");
  });
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);  // ...and had one effect
  EXPECT_EQ((*rows)[0].String(1), "payment.created.dlq/0@0");
}

}  // namespace
}  // namespace ctl
}  // namespace herald
