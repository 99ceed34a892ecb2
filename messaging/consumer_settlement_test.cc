// How records are settled, end to end on the mock cluster: offsets never
// pass an unsettled record, batches isolate the record at fault, retries
// stall nothing else, dependency outages use no attempts, key-ordered
// concurrency, backpressure and revocation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/dependency_outage.h"
#include "contracts/v1/payments.pb.h"
#include "messaging/consumer.h"
#include "messaging/dead_letter.h"
#include "messaging/mock_cluster.h"
#include "messaging/producer.h"
#include "messaging/retry.h"
#include "messaging/testing/cluster_test.h"
#include "messaging/testing/test_support.h"
#include "metrics/registry.h"

namespace herald {
namespace {

using contracts::v1::PaymentCreated;
using contracts::v1::PaymentUpdated;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::RunningConsumer;
using testing::TestConfig;
using testing::WaitFor;

class SettlementTest : public testing::ClusterTest {
 protected:
  SettlementTest()
      : ClusterTest({"payment.created", "payment.created.dlq",
                     "payment.updated", "payment.updated.dlq"}) {}

  // Sends payment `key` with sequence number `seq`; returns its offset.
  int64_t Send(const std::string& key, int64_t seq) {
    PaymentCreated p;
    p.set_payment_id(key);
    p.set_amount(seq);
    DeliveryResult r = producer_->Send(p).get();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->offset : -1;
  }

  int64_t SendGarbage(const std::string& topic) {
    OutgoingMessage garbage;
    garbage.topic = topic;
    garbage.key = "junk";
    garbage.value = "\xff\xff\xff not protobuf";
    DeliveryResult r = producer_->Publish(garbage).get();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->offset : -1;
  }

  // Reads `topic` from the start in a group of its own and records the
  // offset of each record; stops once `until` holds.
  std::vector<int64_t> ReadOffsets(
      const std::string& group,
      const std::function<bool(const std::vector<int64_t>&)>& until) {
    absl::Mutex mu;
    std::vector<int64_t> offsets;
    auto consumer = Consumer::Create(TestConfig(*cluster_, group));
    EXPECT_TRUE(consumer.ok());
    (*consumer)->OnUndecodable([&](const UndecodableRecord& r) {
      absl::MutexLock lock(&mu);
      offsets.push_back(r.offset);
    });
    EXPECT_TRUE((*consumer)
                    ->Subscribe<PaymentCreated>(
                        [&](const PaymentCreated&, const Metadata& meta) {
                          absl::MutexLock lock(&mu);
                          offsets.push_back(meta.offset);
                          return absl::OkStatus();
                        })
                    .ok());
    RunningConsumer running(*std::move(consumer));
    EXPECT_TRUE(WaitFor([&] {
      absl::MutexLock lock(&mu);
      return until(offsets);
    }));
    running.Stop().IgnoreError();
    absl::MutexLock lock(&mu);
    return offsets;
  }

  // Payment ids (keys) of the records in `payment.created.dlq`, read until
  // `count` arrived.
  std::vector<std::string> DeadLetterKeys(size_t count,
                                          const std::string& group) {
    absl::Mutex mu;
    std::vector<std::string> keys;
    auto consumer = Consumer::Create(TestConfig(*cluster_, group));
    EXPECT_TRUE(consumer.ok());
    (*consumer)->OnUndecodable([&](const UndecodableRecord& r) {
      absl::MutexLock lock(&mu);
      keys.emplace_back(r.key);
    });
    EXPECT_TRUE((*consumer)
                    ->Subscribe<PaymentCreated>(
                        "payment.created.dlq",
                        [&](const PaymentCreated& p, const Metadata&) {
                          absl::MutexLock lock(&mu);
                          keys.push_back(p.payment_id());
                          return absl::OkStatus();
                        })
                    .ok());
    RunningConsumer running(*std::move(consumer));
    EXPECT_TRUE(WaitFor([&] {
      absl::MutexLock lock(&mu);
      return keys.size() >= count;
    }));
    running.Stop().IgnoreError();
    absl::MutexLock lock(&mu);
    return keys;
  }
};

// Issue: in a batch, an undecodable record's offset was stored before the
// records ahead of it were handled; a restart then lost them.
TEST_F(SettlementTest, AnUndecodableRecordDoesNotCommitPastAnEarlierRetry) {
  const int64_t good = Send("pay_slow", 1);
  const int64_t garbage = SendGarbage("payment.created");
  absl::Mutex mu;
  int calls = 0;
  int dead_lettered_before_stop = 0;
  Config config = TestConfig(*cluster_, "batch-undecodable");
  config.consumer.retry.max_attempts = 1000;
  config.consumer.retry.initial_backoff = absl::Milliseconds(50);
  {
    auto consumer = Consumer::Create(config);
    ASSERT_TRUE(consumer.ok());
    // One batch for both records: a partial batch waits a second to fill.
    BatchOptions options;
    options.max_size = 2;
    options.max_wait = absl::Seconds(1);
    ASSERT_TRUE((*consumer)
                    ->SubscribeBatch<PaymentCreated>(
                        options,
                        [&](const std::vector<Received<PaymentCreated>>&) {
                          absl::MutexLock lock(&mu);
                          ++calls;
                          return absl::UnavailableError(
                              "not yet");  // never settles
                        })
                    .ok());
    Consumer* c = consumer->get();
    RunningConsumer running(*std::move(consumer));
    ASSERT_TRUE(WaitFor([&] {
      absl::MutexLock lock(&mu);
      return c->Stats().dead_lettered == 1 && calls >= 3;
    }));
    dead_lettered_before_stop = static_cast<int>(c->Stats().dead_lettered);
    ASSERT_TRUE(running.Stop().ok());  // commits what is settled
  }
  EXPECT_EQ(dead_lettered_before_stop, 1);
  // The next member of the group starts at the unsettled record, not after
  // the dead-lettered one.
  const int64_t sentinel = Send("pay_sentinel", 2);
  std::vector<int64_t> seen =
      ReadOffsets("batch-undecodable", [&](const std::vector<int64_t>& o) {
        return std::find(o.begin(), o.end(), sentinel) != o.end();
      });
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front(), good);
  EXPECT_THAT(seen, ElementsAre(good, garbage, sentinel));
}

// Issue: when the dead-letter publish of an earlier record failed, later
// records' offsets were stored; a restart then lost the earlier one.
TEST(DeadLetterSettlementTest, ARefusedDeadLetterHoldsTheOffsetBelowIt) {
  // The dead-letter topic lives on a broker of its own, which refuses the
  // first write it gets.
  auto cluster = MockCluster::Start(2);
  ASSERT_TRUE(cluster.ok());
  MockCluster& mock = **cluster;
  ASSERT_TRUE(mock.CreateTopic("payment.created", 1).ok());
  ASSERT_TRUE(mock.CreateTopic("payment.created.dlq", 1).ok());
  ASSERT_TRUE(mock.SetPartitionLeader("payment.created", 0, 1).ok());
  ASSERT_TRUE(mock.SetPartitionLeader("payment.created.dlq", 0, 2).ok());
  auto producer = Producer::Create(TestConfig(mock));
  ASSERT_TRUE(producer.ok());
  for (const char* key : {"a", "b", "c"}) {
    PaymentCreated p;
    p.set_payment_id(key);
    ASSERT_TRUE((*producer)->Send(p).get().ok());
  }
  ASSERT_TRUE(
      mock.FailProduces(2, 1, MockCluster::KafkaError::kPolicyViolation).ok());
  Config config = TestConfig(mock, "refused-dead-letter");
  config.consumer.concurrency = 3;
  config.consumer.ordering = Ordering::kKey;
  // The refused copy of `a` is sent again only after 5 s: long enough to
  // stop the member first.
  config.consumer.retry.initial_backoff = absl::Milliseconds(5000);
  config.consumer.retry.max_backoff = absl::Milliseconds(5000);
  {
    auto consumer = Consumer::Create(config);
    ASSERT_TRUE(consumer.ok());
    Consumer* c = consumer->get();
    ASSERT_TRUE(
        (*consumer)
            ->Subscribe<PaymentCreated>([c](const PaymentCreated& p,
                                            const Metadata&) -> absl::Status {
              // b and c fail once a's dead-letter copy was refused.
              if (p.payment_id() != "a") {
                EXPECT_TRUE(
                    WaitFor([c] { return c->Health().waiting_on_dependency; }));
              }
              return Permanent(absl::InvalidArgumentError("poison"));
            })
            .ok());
    RunningConsumer running(*std::move(consumer));
    ASSERT_TRUE(WaitFor([c] { return c->Stats().dead_lettered == 2; }));
    EXPECT_THAT(c->Health().dependency_error, HasSubstr("payment.created.dlq"));
    ASSERT_TRUE(running.Stop().ok());  // a's copy is still to be sent
  }
  // The next member starts at `a`, not after `c`.
  absl::Mutex mu;
  std::vector<std::string> seen;
  Config reader = TestConfig(mock, "refused-dead-letter");
  auto consumer = Consumer::Create(reader);
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)
                  ->Subscribe<PaymentCreated>(
                      [&](const PaymentCreated& p, const Metadata&) {
                        absl::MutexLock lock(&mu);
                        seen.push_back(p.payment_id());
                        return absl::OkStatus();
                      })
                  .ok());
  RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return seen.size() == 3;
  }));
  absl::MutexLock lock(&mu);
  EXPECT_THAT(seen, ElementsAre("a", "b", "c"));
}

// Issue: one bad record dead-lettered its whole batch. A batch that fails
// without saying where is split until the record at fault is alone.
TEST_F(SettlementTest, APlainBatchErrorIsolatesTheRecordAtFault) {
  for (int i = 0; i < 20; ++i) Send(absl::StrCat("pay_", i), i);
  absl::Mutex mu;
  std::set<std::string> handled;
  std::vector<size_t> sizes;
  Config config = TestConfig(*cluster_, "batch-split");
  config.consumer.retry.max_attempts = 2;
  auto consumer = Consumer::Create(config);
  ASSERT_TRUE(consumer.ok());
  BatchOptions options;
  options.max_size = 20;
  options.max_wait = absl::Milliseconds(200);
  ASSERT_TRUE((*consumer)
                  ->SubscribeBatch<PaymentCreated>(
                      options,
                      [&](const std::vector<Received<PaymentCreated>>& batch) {
                        absl::MutexLock lock(&mu);
                        sizes.push_back(batch.size());
                        for (const auto& r : batch) {
                          if (r.event->payment_id() == "pay_13") {
                            return absl::InternalError("cannot handle pay_13");
                          }
                        }
                        for (const auto& r : batch) {
                          handled.insert(r.event->payment_id());
                        }
                        return absl::OkStatus();
                      })
                  .ok());
  Consumer* c = consumer->get();
  RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return handled.size() == 19 && c->Stats().dead_lettered == 1;
  }));
  EXPECT_THAT(DeadLetterKeys(1, "batch-split-dlq"), ElementsAre("pay_13"));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(handled.count("pay_13"), 0u);
  EXPECT_EQ(sizes.front(), 20u);
  EXPECT_LE(sizes.size(), 14u);  // halving, not one call per record
}

TEST_F(SettlementTest, FailedAtSettlesTheRecordsBeforeAndRetriesTheOneAlone) {
  for (int i = 0; i < 6; ++i) Send(absl::StrCat("pay_", i), i);
  absl::Mutex mu;
  std::vector<std::vector<std::string>> batches;
  std::map<std::string, int> handled;
  Config config = TestConfig(*cluster_, "batch-failed-at");
  config.consumer.retry.max_attempts = 3;
  auto consumer = Consumer::Create(config);
  ASSERT_TRUE(consumer.ok());
  BatchOptions options;
  options.max_size = 6;
  options.max_wait = absl::Milliseconds(200);
  ASSERT_TRUE((*consumer)
                  ->SubscribeBatch<PaymentCreated>(
                      options,
                      [&](const std::vector<Received<PaymentCreated>>& batch)
                          -> absl::Status {
                        absl::MutexLock lock(&mu);
                        std::vector<std::string> ids;
                        for (const auto& r : batch)
                          ids.push_back(r.event->payment_id());
                        batches.push_back(ids);
                        for (size_t i = 0; i < batch.size(); ++i) {
                          if (ids[i] == "pay_2") {
                            return FailedAt(
                                i, absl::InternalError("bad payment 2"));
                          }
                          ++handled[ids[i]];
                        }
                        return absl::OkStatus();
                      })
                  .ok());
  Consumer* c = consumer->get();
  RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return handled.size() == 5 && c->Stats().dead_lettered == 1;
  }));
  absl::MutexLock lock(&mu);
  for (const auto& [id, times] : handled) EXPECT_EQ(times, 1) << id;
  ASSERT_GE(batches.size(), 4u);
  EXPECT_THAT(batches[0], ElementsAre("pay_0", "pay_1", "pay_2", "pay_3",
                                      "pay_4", "pay_5"));
  // pay_2 goes on its own (3 attempts), the rest after it.
  EXPECT_THAT(batches[1], ElementsAre("pay_2"));
  EXPECT_EQ(c->Stats().retries, 2);
}

// Issue: batch retries slept the whole poll loop, stalling every topic.
TEST_F(SettlementTest, ABatchWaitingForItsRetryStallsNoOtherTopic) {
  Send("pay_stuck", 1);
  absl::Mutex mu;
  int stuck_attempts = 0;
  int attempts_when_other_handled = -1;
  Config config = TestConfig(*cluster_, "batch-no-stall");
  config.consumer.retry.max_attempts = 4;
  config.consumer.retry.initial_backoff = absl::Milliseconds(1000);
  config.consumer.retry.max_backoff = absl::Milliseconds(1000);
  auto consumer = Consumer::Create(config);
  ASSERT_TRUE(consumer.ok());
  BatchOptions options;
  options.max_size = 10;
  options.max_wait = absl::Milliseconds(20);
  ASSERT_TRUE((*consumer)
                  ->SubscribeBatch<PaymentCreated>(
                      options,
                      [&](const std::vector<Received<PaymentCreated>>&) {
                        absl::MutexLock lock(&mu);
                        ++stuck_attempts;
                        return absl::UnavailableError("try later");
                      })
                  .ok());
  ASSERT_TRUE((*consumer)
                  ->SubscribeBatch<PaymentUpdated>(
                      options,
                      [&](const std::vector<Received<PaymentUpdated>>&) {
                        absl::MutexLock lock(&mu);
                        attempts_when_other_handled = stuck_attempts;
                        return absl::OkStatus();
                      })
                  .ok());
  RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return stuck_attempts >= 1;
  }));
  PaymentUpdated update;
  update.set_payment_id("pay_other");
  ASSERT_TRUE(producer_->Send(update).get().ok());
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return attempts_when_other_handled >= 0;
  }));
  absl::MutexLock lock(&mu);
  // Handled while the stuck batch still had attempts left (3 backoffs of
  // 1 s stand between its first and last attempt).
  EXPECT_LT(attempts_when_other_handled, 4);
}

TEST_F(SettlementTest, ADependencyOutageUsesNoAttemptsAndProbesOneAtATime) {
  for (int i = 0; i < 8; ++i) Send(absl::StrCat("pay_", i), i);
  absl::Mutex mu;
  int started = 0, running_now = 0;
  int max_running_while_probing = 0, max_running_after = 0;
  int calls_during_outage = 0;
  bool database_up = false;
  std::set<std::string> handled;
  Config config = TestConfig(*cluster_, "outage");
  config.consumer.retry.max_attempts = 2;  // an outage must not use these up
  config.consumer.retry.initial_backoff = absl::Milliseconds(20);
  config.consumer.retry.max_backoff = absl::Milliseconds(100);
  config.consumer.concurrency = 4;
  config.consumer.ordering = Ordering::kKey;
  metrics::Registry registry;
  auto consumer = Consumer::Create(config);
  ASSERT_TRUE(consumer.ok());
  (*consumer)->Instrument(&registry);
  ASSERT_TRUE(
      (*consumer)
          ->Subscribe<PaymentCreated>([&](const PaymentCreated& p,
                                          const Metadata&) -> absl::Status {
            {
              absl::MutexLock lock(&mu);
              ++running_now;
              // The first 4 calls start together, before any outage is
              // known; every later call during the outage is a probe.
              if (++started > 4 && !database_up) {
                max_running_while_probing =
                    std::max(max_running_while_probing, running_now);
              }
              if (database_up) {
                max_running_after = std::max(max_running_after, running_now);
              }
            }
            absl::SleepFor(absl::Milliseconds(5));
            absl::MutexLock lock(&mu);
            --running_now;
            if (!database_up) {
              ++calls_during_outage;
              return DependencyOutage(
                  absl::UnavailableError("PostgreSQL unreachable"));
            }
            handled.insert(p.payment_id());
            return absl::OkStatus();
          })
          .ok());
  Consumer* c = consumer->get();
  RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return calls_during_outage >= 10;
  }));
  ConsumerHealth health = c->Health();
  EXPECT_TRUE(health.waiting_on_dependency);
  EXPECT_THAT(health.dependency_error, HasSubstr("PostgreSQL unreachable"));
  EXPECT_THAT(registry.Render(),
              HasSubstr("herald_consumer_waiting_on_dependency{topic="
                        "\"payment.created\"} 1"));
  {
    absl::MutexLock lock(&mu);
    database_up = true;
  }
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return handled.size() == 8;
  }));
  EXPECT_EQ(c->Stats().dead_lettered, 0);
  EXPECT_EQ(c->Stats().retries, 0);
  EXPECT_FALSE(c->Health().waiting_on_dependency);
  EXPECT_THAT(registry.Render(),
              HasSubstr("herald_consumer_waiting_on_dependency{topic="
                        "\"payment.created\"} 0"));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(max_running_while_probing, 1);
  EXPECT_GT(max_running_after, 1);  // back to several keys at a time
}

TEST_F(SettlementTest, KeyOrderingRunsKeysInParallelAndEachKeyInOrder) {
  const int kKeys = 8, kPerKey = 5;
  for (int seq = 0; seq < kPerKey; ++seq) {
    for (int k = 0; k < kKeys; ++k) Send(absl::StrCat("key_", k), seq);
  }
  absl::Mutex mu;
  std::map<std::string, std::vector<int64_t>> order;
  std::map<std::string, int> running_per_key;
  int running_now = 0, max_running = 0, overlaps_within_key = 0;
  Config config = TestConfig(*cluster_, "key-ordering");
  config.consumer.concurrency = 4;
  config.consumer.ordering = Ordering::kKey;
  auto consumer = Consumer::Create(config);
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)
                  ->Subscribe<PaymentCreated>(
                      [&](const PaymentCreated& p, const Metadata&) {
                        {
                          absl::MutexLock lock(&mu);
                          if (running_per_key[p.payment_id()]++ > 0) {
                            ++overlaps_within_key;
                          }
                          max_running = std::max(max_running, ++running_now);
                        }
                        absl::SleepFor(absl::Milliseconds(10));
                        absl::MutexLock lock(&mu);
                        --running_per_key[p.payment_id()];
                        --running_now;
                        order[p.payment_id()].push_back(p.amount());
                        return absl::OkStatus();
                      })
                  .ok());
  RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    size_t n = 0;
    for (const auto& [key, seqs] : order) n += seqs.size();
    return n == kKeys * kPerKey;
  }));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(overlaps_within_key, 0);
  EXPECT_GT(max_running, 1);  // one partition, yet several at once
  EXPECT_LE(max_running, 4);
  for (const auto& [key, seqs] : order) {
    EXPECT_THAT(seqs, ElementsAre(0, 1, 2, 3, 4)) << key;
  }
}

// With key ordering a batch route takes many keys per batch; two batches
// running at once never share a key, and a key's records keep their order.
TEST_F(SettlementTest, KeyOrderedBatchesNeverShareAKeyAndKeepItsOrder) {
  const int kKeys = 6, kPerKey = 10;
  for (int seq = 0; seq < kPerKey; ++seq) {
    for (int k = 0; k < kKeys; ++k) Send(absl::StrCat("key_", k), seq);
  }
  absl::Mutex mu;
  std::map<std::string, std::vector<int64_t>> order;
  std::set<std::string> keys_running;
  int shared_keys = 0, batches_at_once = 0, max_batches_at_once = 0;
  Config config = TestConfig(*cluster_, "key-batches");
  config.consumer.concurrency = 3;
  config.consumer.ordering = Ordering::kKey;
  auto consumer = Consumer::Create(config);
  ASSERT_TRUE(consumer.ok());
  BatchOptions options;
  options.max_size = 4;
  options.max_wait = absl::Milliseconds(10);
  ASSERT_TRUE((*consumer)
                  ->SubscribeBatch<PaymentCreated>(
                      options,
                      [&](const std::vector<Received<PaymentCreated>>& batch) {
                        std::set<std::string> mine;
                        {
                          absl::MutexLock lock(&mu);
                          for (const auto& r : batch) {
                            const std::string& key = r.event->payment_id();
                            if (!mine.count(key) && keys_running.count(key)) {
                              ++shared_keys;
                            }
                            mine.insert(key);
                            order[key].push_back(r.event->amount());
                          }
                          keys_running.insert(mine.begin(), mine.end());
                          max_batches_at_once =
                              std::max(max_batches_at_once, ++batches_at_once);
                        }
                        absl::SleepFor(absl::Milliseconds(10));
                        absl::MutexLock lock(&mu);
                        for (const std::string& key : mine)
                          keys_running.erase(key);
                        --batches_at_once;
                        return absl::OkStatus();
                      })
                  .ok());
  RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    size_t n = 0;
    for (const auto& [key, seqs] : order) n += seqs.size();
    return n == kKeys * kPerKey;
  }));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(shared_keys, 0);
  EXPECT_GT(max_batches_at_once, 1);
  for (const auto& [key, seqs] : order) {
    for (int i = 0; i < kPerKey; ++i) EXPECT_EQ(seqs[i], i) << key;
  }
}

TEST_F(SettlementTest, PartitionOrderingRunsOnePartitionOneAtATime) {
  for (int i = 0; i < 12; ++i) Send(absl::StrCat("key_", i % 4), i);
  absl::Mutex mu;
  std::vector<int64_t> order;
  int running_now = 0, max_running = 0;
  Config config = TestConfig(*cluster_, "partition-ordering");
  config.consumer.concurrency = 4;
  auto consumer = Consumer::Create(config);
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)
                  ->Subscribe<PaymentCreated>(
                      [&](const PaymentCreated& p, const Metadata&) {
                        {
                          absl::MutexLock lock(&mu);
                          max_running = std::max(max_running, ++running_now);
                        }
                        absl::SleepFor(absl::Milliseconds(5));
                        absl::MutexLock lock(&mu);
                        --running_now;
                        order.push_back(p.amount());
                        return absl::OkStatus();
                      })
                  .ok());
  RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return order.size() == 12;
  }));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(max_running, 1);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(order[i], i);
}

TEST_F(SettlementTest, ARetryingKeyHoldsOnlyItsOwnLaterRecords) {
  Send("key_a", 0);  // fails twice
  Send("key_a", 1);
  Send("key_b", 0);
  absl::Mutex mu;
  std::vector<std::string> order;
  int a0_failures = 0;
  Config config = TestConfig(*cluster_, "key-retry");
  config.consumer.concurrency = 2;
  config.consumer.ordering = Ordering::kKey;
  config.consumer.retry.initial_backoff = absl::Milliseconds(100);
  auto consumer = Consumer::Create(config);
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)
                  ->Subscribe<PaymentCreated>(
                      [&](const PaymentCreated& p, const Metadata&) {
                        absl::MutexLock lock(&mu);
                        std::string id =
                            absl::StrCat(p.payment_id(), "#", p.amount());
                        if (id == "key_a#0" && ++a0_failures <= 2) {
                          return absl::UnavailableError("flaky");
                        }
                        order.push_back(id);
                        return absl::OkStatus();
                      })
                  .ok());
  RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return order.size() == 3;
  }));
  absl::MutexLock lock(&mu);
  // key_b went on while key_a#0 waited; key_a#1 never overtook key_a#0.
  EXPECT_THAT(order, ElementsAre("key_b#0", "key_a#0", "key_a#1"));
}

TEST_F(SettlementTest, APartitionHoldsAtMostMaxInFlightRecords) {
  for (int i = 0; i < 60; ++i) Send(absl::StrCat("key_", i), i);
  absl::Mutex mu;
  bool open = false;
  int handled = 0;
  Config config = TestConfig(*cluster_, "backpressure");
  config.consumer.concurrency = 2;
  config.consumer.ordering = Ordering::kKey;
  config.consumer.max_in_flight = 10;
  auto consumer = Consumer::Create(config);
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)
                  ->Subscribe<PaymentCreated>(
                      [&](const PaymentCreated&, const Metadata&) {
                        absl::MutexLock lock(&mu);
                        mu.Await(absl::Condition(&open));
                        ++handled;
                        return absl::OkStatus();
                      })
                  .ok());
  Consumer* c = consumer->get();
  RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(WaitFor([&] { return c->Health().in_flight >= 10; }));
  // The partition is paused: what librdkafka had prefetched was dropped and
  // nothing more is taken while the handlers are blocked. The sentinel is
  // the 60 records themselves: all must still arrive once let through.
  EXPECT_EQ(c->Health().in_flight, 10);
  {
    absl::MutexLock lock(&mu);
    open = true;
  }
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return handled == 60;
  }));
  EXPECT_EQ(c->Health().in_flight, 0);
}

// A member that stops while a record waits for its retry commits only what
// is settled before it: the next owner starts at that record.
TEST_F(SettlementTest, StopCommitsTheSettledPrefixOnly) {
  Send("key_a", 0);
  const int64_t stuck = Send("key_b", 0);  // always fails
  Send("key_c", 0);
  absl::Mutex mu;
  std::set<std::string> handled;
  Config config = TestConfig(*cluster_, "stop-prefix");
  config.consumer.concurrency = 2;
  config.consumer.ordering = Ordering::kKey;
  config.consumer.retry.max_attempts = 1000;
  config.consumer.retry.initial_backoff = absl::Milliseconds(50);
  {
    auto consumer = Consumer::Create(config);
    ASSERT_TRUE(consumer.ok());
    ASSERT_TRUE(
        (*consumer)
            ->Subscribe<PaymentCreated>(
                [&](const PaymentCreated& p, const Metadata&) -> absl::Status {
                  if (p.payment_id() == "key_b") {
                    return absl::UnavailableError("later");
                  }
                  absl::MutexLock lock(&mu);
                  handled.insert(p.payment_id());
                  return absl::OkStatus();
                })
            .ok());
    RunningConsumer running(*std::move(consumer));
    ASSERT_TRUE(WaitFor([&] {
      absl::MutexLock lock(&mu);
      return handled.size() == 2;  // key_a and key_c, past key_b
    }));
    ASSERT_TRUE(running.Stop().ok());
  }
  const int64_t sentinel = Send("key_d", 0);
  std::vector<int64_t> seen =
      ReadOffsets("stop-prefix", [&](const std::vector<int64_t>& o) {
        return std::find(o.begin(), o.end(), sentinel) != o.end();
      });
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front(), stuck);  // key_c is handled again: at least once
  EXPECT_THAT(seen, ElementsAre(stuck, stuck + 1, sentinel));
}

}  // namespace
}  // namespace herald
