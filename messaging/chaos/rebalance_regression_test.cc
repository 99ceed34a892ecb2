// Consumer bugs the chaos test found, each reduced to a test, kept as
// regression tests. Both left a member holding partitions it never fetched
// again after a rebalance (its committed offsets stopped for good):
//
// 1. An outage spanning a rebalance (chaos seed 101). On a
//    DependencyOutage the route is held and its partitions paused; the
//    outage ends only when a probe unit gets an answer. The revocation
//    dropped every record not running, so no record was left to probe with,
//    and every partition assigned while the outage lasted was paused too, so
//    none was fetched: the route stayed held, Health().waiting_on_dependency
//    true, although the dependency had come back long ago.
//
// 2. librdkafka keeps a partition paused across revocation and
//    re-assignment (confluentinc/librdkafka#1849), while the consumer started
//    each assigned partition as not paused and never resumed it. A partition
//    paused when it was revoked (an outage, or consumer.max_in_flight records
//    held) and given back to the same member was never fetched again.
//
// (Fixed in db8e7a3 and 39d3385. A third bug, in the first fix for 2, showed
// in chaos seed 202: resuming a partition librdkafka does not hold paused
// makes it fetch again from where its fetch started, and the duplicates left
// the offset tracker with a record that never settled. 39d3385 resumes only
// what the member paused, and drops a record fetched twice.)
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/dependency_outage.h"
#include "contracts/v1/payments.pb.h"
#include "messaging/consumer.h"
#include "messaging/mock_cluster.h"
#include "messaging/producer.h"
#include "messaging/testing/test_support.h"

namespace herald {
namespace {

using contracts::v1::PaymentCreated;
using testing::RunningConsumer;
using testing::TestConfig;
using testing::WaitFor;

TEST(RebalanceRegression, ConsumerResumesAfterAnOutageSpanningARebalance) {
  auto cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("payment.created", 2).ok());
  Config config = TestConfig(**cluster, "outage-rebalance");
  config.consumer.session_timeout_ms = 3000;  // rebalances of ~2 s
  config.consumer.heartbeat_interval_ms = 500;

  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  constexpr int kRecords = 20;
  for (int i = 0; i < kRecords; ++i) {
    PaymentCreated p;
    p.set_payment_id(absl::StrCat("pay_", i));  // both partitions get some
    p.set_amount(i);
    ASSERT_TRUE((*producer)->Send(p).get().ok());
  }

  // A's database is down at first.
  std::atomic<bool> down{true};
  absl::Mutex mu;
  std::set<int64_t> handled;  // redeliveries count once
  auto count = [&] {
    absl::MutexLock lock(&mu);
    return handled.size();
  };
  auto a = Consumer::Create(config);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->Subscribe<PaymentCreated>(
                      [&](const PaymentCreated& p, const Metadata&) {
                        if (down) {
                          return DependencyOutage(
                              absl::UnavailableError("database is down"));
                        }
                        absl::MutexLock lock(&mu);
                        handled.insert(p.amount());
                        return absl::OkStatus();
                      })
                  .ok());
  Consumer* consumer_a = a->get();
  RunningConsumer running_a(*std::move(a));
  ASSERT_TRUE(
      WaitFor([&] { return consumer_a->Health().waiting_on_dependency; },
              absl::Seconds(30)));

  // B joins (A's partitions are revoked and one comes back), and leaves
  // again (A gets both); meanwhile the database comes back.
  {
    auto b = Consumer::Create(config);
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE((*b)->Subscribe<PaymentCreated>(
                        [&](const PaymentCreated&, const Metadata&) {
                          // B settles nothing: A gets it all back.
                          return DependencyOutage(
                              absl::UnavailableError("B's database too"));
                        })
                    .ok());
    Consumer* consumer_b = b->get();
    RunningConsumer running_b(*std::move(b));
    ASSERT_TRUE(WaitFor(
        [&] {
          return !consumer_b->Assignment().empty() &&
                 consumer_a->Assignment().size() == 1;
        },
        absl::Seconds(30)));
    down = false;
  }
  ASSERT_TRUE(WaitFor([&] { return consumer_a->Assignment().size() == 2; },
                      absl::Seconds(30)));

  // Everything should now be handled by A, the only member, whose database
  // is back. It handles nothing: its route still waits for a probe.
  EXPECT_TRUE(WaitFor([&] { return count() == kRecords; }, absl::Seconds(20)))
      << "handled " << count() << " of " << kRecords
      << "; A waiting on dependency: "
      << consumer_a->Health().waiting_on_dependency << " ("
      << consumer_a->Health().dependency_error << ")";
}

TEST(RebalanceRegression, PartitionPausedForMaxInFlightResumesAfterRebalance) {
  auto cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("payment.created", 2).ok());
  Config config = TestConfig(**cluster, "in-flight-rebalance");
  config.consumer.session_timeout_ms = 3000;
  config.consumer.heartbeat_interval_ms = 500;
  // A partition holding 2 records pauses. Its first record fails and waits
  // a minute for its retry, so the partition stays paused until revoked.
  config.consumer.max_in_flight = 2;
  config.consumer.retry.initial_backoff = absl::Milliseconds(60000);
  config.consumer.retry.max_backoff = absl::Milliseconds(60000);

  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  constexpr int kRecords = 20;
  for (int i = 0; i < kRecords; ++i) {
    PaymentCreated p;
    p.set_payment_id(absl::StrCat("pay_", i));  // both partitions get some
    p.set_amount(i);
    ASSERT_TRUE((*producer)->Send(p).get().ok());
  }
  std::atomic<bool> failing{true};
  absl::Mutex mu;
  std::set<int64_t> handled;
  auto handler = [&](const PaymentCreated& p, const Metadata&) {
    if (failing) return absl::UnavailableError("not yet");
    absl::MutexLock lock(&mu);
    handled.insert(p.amount());
    return absl::OkStatus();
  };
  auto count = [&] {
    absl::MutexLock lock(&mu);
    return handled.size();
  };
  std::atomic<int> calls{0};
  auto a = Consumer::Create(config);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->Subscribe<PaymentCreated>(
                      [&](const PaymentCreated& p, const Metadata& m) {
                        ++calls;
                        return handler(p, m);
                      })
                  .ok());
  Consumer* consumer_a = a->get();
  RunningConsumer running_a(*std::move(a));
  // Both partitions' first records failed: both partitions are paused.
  ASSERT_TRUE(WaitFor([&] { return calls.load() >= 2; }, absl::Seconds(30)));
  failing = false;

  // B joins and leaves: A's paused partitions are revoked and given back.
  {
    auto b = Consumer::Create(config);
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE((*b)->Subscribe<PaymentCreated>(handler).ok());
    Consumer* consumer_b = b->get();
    RunningConsumer running_b(*std::move(b));
    ASSERT_TRUE(WaitFor(
        [&] {
          return !consumer_b->Assignment().empty() &&
                 consumer_a->Assignment().size() == 1;
        },
        absl::Seconds(30)));
  }
  ASSERT_TRUE(WaitFor([&] { return consumer_a->Assignment().size() == 2; },
                      absl::Seconds(30)));
  // A, the only member, now fetches both partitions from their committed
  // offsets and handles at once what B did not.
  EXPECT_TRUE(WaitFor([&] { return count() == kRecords; }, absl::Seconds(20)))
      << "handled " << count() << " of " << kRecords << "; A holds "
      << consumer_a->Health().in_flight << " in flight";
}

// 3. (In db8e7a3's fix for 2.) OnAssigned() now takes every assigned
//    partition as paused, so ApplyPendingPauses() calls Reader::Resume() on
//    it at the end of the poll loop's iteration. When that iteration has
//    already admitted records of the partition (the rebalance callback runs
//    inside a Poll() that then goes on to return records), librdkafka's
//    resume of a partition it does not hold paused still bumps the
//    partition's op version, and the fetcher starts again from the
//    assignment's start offset: the records already admitted are delivered
//    a second time. OffsetTracker::Add() requires growing offsets; with the
//    duplicates behind, Settle() no longer finds its entries, the
//    partition's committed offset stops for good, and once
//    consumer.max_in_flight records are held it stays paused.
}  // namespace
}  // namespace herald
