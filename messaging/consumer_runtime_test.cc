// The consumer runtime: batches, retries with backoff, dead-letter topics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
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
using ::testing::HasSubstr;
using testing::RunningConsumer;
using testing::TestConfig;
using testing::WaitFor;

class RuntimeTest : public testing::ClusterTest {
 protected:
  RuntimeTest() : ClusterTest({"payment.created", "payment.created.dlq"}) {}

  DeliveryReport Send(int64_t amount) {
    PaymentCreated p;
    p.set_payment_id(absl::StrCat("pay_", amount));
    p.set_amount(amount);
    DeliveryResult r = producer_->Send(p).get();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : DeliveryReport{};
  }

  // Records on the dead-letter topic, with their headers.
  struct Dead {
    std::string key, value;
    Headers headers;
  };
  std::unique_ptr<RunningConsumer> WatchDeadLetters(std::vector<Dead>* out,
                                                    absl::Mutex* mu) {
    auto consumer = Consumer::Create(TestConfig(*cluster_, "dlq-reader"));
    EXPECT_TRUE(consumer.ok());
    // Read the DLQ raw: its records may be undecodable by design.
    (*consumer)->OnUndecodable([out, mu](const UndecodableRecord& r) {
      absl::MutexLock lock(mu);
      out->push_back(
          {std::string(r.key), std::string(r.value), r.metadata->AllHeaders()});
    });
    EXPECT_TRUE((*consumer)
                    ->Subscribe<PaymentCreated>(
                        "payment.created.dlq",
                        [out, mu](const PaymentCreated& p, const Metadata& m) {
                          absl::MutexLock lock(mu);
                          out->push_back({std::string(m.key),
                                          p.SerializeAsString(),
                                          m.AllHeaders()});
                          return absl::OkStatus();
                        })
                    .ok());
    return std::make_unique<RunningConsumer>(*std::move(consumer));
  }
  // A consumer of batches of `options` recording the amounts of each batch
  // it gets, in order.
  std::unique_ptr<RunningConsumer> RecordBatches(
      absl::string_view group, const BatchOptions& options,
      std::vector<std::vector<int64_t>>* batches, absl::Mutex* mu) {
    auto consumer = Consumer::Create(TestConfig(*cluster_, group));
    EXPECT_TRUE(consumer.ok());
    EXPECT_TRUE(
        (*consumer)
            ->SubscribeBatch<PaymentCreated>(
                options,
                [batches,
                 mu](const std::vector<Received<PaymentCreated>>& batch) {
                  std::vector<int64_t> amounts;
                  for (const auto& r : batch) {
                    amounts.push_back(r.event->amount());
                    EXPECT_FALSE(r.metadata->event_id.empty());
                  }
                  absl::MutexLock lock(mu);
                  batches->push_back(amounts);
                  return absl::OkStatus();
                })
            .ok());
    return std::make_unique<RunningConsumer>(*std::move(consumer));
  }
};

TEST_F(RuntimeTest, ABacklogArrivesInFullBatches) {
  constexpr int kBatch = 50, kBatches = 6;
  for (int i = 1; i <= kBatch * kBatches; ++i) Send(i);
  absl::Mutex mu;
  std::vector<std::vector<int64_t>> batches;
  BatchOptions options;
  options.max_size = kBatch;
  options.max_wait = absl::Hours(1);  // no wait ends a batch here
  auto running = RecordBatches("backlog", options, &batches, &mu);
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return batches.size() >= kBatches;
  }));
  absl::MutexLock lock(&mu);
  std::vector<std::vector<int64_t>> expected;
  for (int b = 0; b < kBatches; ++b) {
    expected.emplace_back();
    for (int i = 1; i <= kBatch; ++i) expected.back().push_back(b * kBatch + i);
  }
  EXPECT_EQ(batches, expected);
}

TEST_F(RuntimeTest, ALoneRecordIsHandedOverWithoutWaitingForTheBatchToFill) {
  absl::Mutex mu;
  std::vector<std::vector<int64_t>> batches;
  BatchOptions options;
  options.max_size = 100;
  options.max_wait = absl::Seconds(10);  // were it waited for, it would show
  auto running = RecordBatches("lone", options, &batches, &mu);
  ASSERT_TRUE(
      WaitFor([&] { return !running->consumer().Assignment().empty(); }));
  auto handed_over = [&](size_t count) {
    // Well under the 10 s batch wait.
    return WaitFor(
        [&] {
          absl::MutexLock lock(&mu);
          return batches.size() >= count;
        },
        absl::Seconds(3));
  };
  Send(1);
  ASSERT_TRUE(handed_over(1));
  Send(2);  // a quiet consumer: again at once
  ASSERT_TRUE(handed_over(2));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(batches, (std::vector<std::vector<int64_t>>{{1}, {2}}));
}

TEST_F(RuntimeTest, FailingTwiceThenSucceedingIsHandledOnceWithTwoRetries) {
  Send(1);
  Send(2);
  absl::Mutex mu;
  std::map<int64_t, int> calls;
  std::vector<int64_t> handled;
  metrics::Registry registry;
  auto consumer = Consumer::Create(TestConfig(*cluster_, "retry-twice"));
  ASSERT_TRUE(consumer.ok());
  (*consumer)->Instrument(&registry);
  ASSERT_TRUE((*consumer)
                  ->Subscribe<PaymentCreated>(
                      [&](const PaymentCreated& p, const Metadata&) {
                        absl::MutexLock lock(&mu);
                        if (p.amount() == 1 && ++calls[1] <= 2) {
                          return absl::UnavailableError("flaky");
                        }
                        handled.push_back(p.amount());
                        return absl::OkStatus();
                      })
                  .ok());
  Consumer* c = consumer->get();
  RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return handled.size() == 2;
  }));
  EXPECT_EQ(c->Stats().retries, 2);
  EXPECT_EQ(c->Stats().failed, 2);
  EXPECT_EQ(c->Stats().dead_lettered, 0);
  EXPECT_THAT(
      registry.Render(),
      HasSubstr("herald_consumer_retries_total{topic=\"payment.created\"} 2"));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(handled, (std::vector<int64_t>{1, 2}));  // once each, in order
}

// With handlers inline, a record whose partition holds nothing else runs as
// soon as it is admitted; one that arrives while an earlier record of its
// partition waits for a retry runs after it, and the next one after that.
TEST_F(RuntimeTest, InlineARecordBehindARetryWaitsForIt) {
  auto send = [&](int64_t amount) {
    PaymentCreated p;
    p.set_payment_id("pay_same");  // one key: one partition
    p.set_amount(amount);
    ASSERT_TRUE(producer_->Send(p).get().ok());
  };
  absl::Mutex mu;
  std::vector<int64_t> calls;  // every call, in order
  int failures = 0;
  Config config = TestConfig(*cluster_, "inline-order");
  config.consumer.retry.initial_backoff = absl::Milliseconds(300);
  config.consumer.retry.max_backoff = absl::Milliseconds(300);
  auto consumer = Consumer::Create(config);
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)
                  ->Subscribe<PaymentCreated>(
                      [&](const PaymentCreated& p, const Metadata&) {
                        absl::MutexLock lock(&mu);
                        calls.push_back(p.amount());
                        if (p.amount() == 1 && ++failures <= 2) {
                          return absl::UnavailableError("flaky");
                        }
                        return absl::OkStatus();
                      })
                  .ok());
  RunningConsumer running(*std::move(consumer));
  auto calls_reach = [&](size_t n) {
    return WaitFor([&] {
      absl::MutexLock lock(&mu);
      return calls.size() >= n;
    });
  };
  send(1);
  ASSERT_TRUE(calls_reach(1));  // 1 failed once: it waits 300 ms
  send(2);
  ASSERT_TRUE(calls_reach(4));
  send(3);  // its partition holds nothing now
  ASSERT_TRUE(calls_reach(5));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(calls, (std::vector<int64_t>{1, 1, 1, 2, 3}));
}

TEST_F(RuntimeTest, AlwaysFailingGoesToTheDeadLetterTopicWithProvenance) {
  DeliveryReport poison = Send(1);
  Send(2);
  absl::Mutex mu;
  std::vector<int64_t> handled;
  int attempts = 0;
  Config config = TestConfig(*cluster_, "always-fails");
  config.consumer.retry.max_attempts = 3;
  auto consumer = Consumer::Create(config);
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)
                  ->Subscribe<PaymentCreated>(
                      [&](const PaymentCreated& p, const Metadata&) {
                        absl::MutexLock lock(&mu);
                        if (p.amount() == 1) {
                          ++attempts;
                          return absl::UnavailableError("smtp is down");
                        }
                        handled.push_back(p.amount());
                        return absl::OkStatus();
                      })
                  .ok());
  RunningConsumer running(*std::move(consumer));
  std::vector<Dead> dead;
  auto dlq = WatchDeadLetters(&dead, &mu);
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return handled.size() == 1 && dead.size() == 1;
  }));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(handled, std::vector<int64_t>{2});  // the next one went on
  const Dead& d = dead[0];
  EXPECT_EQ(d.key, "pay_1");
  PaymentCreated original;
  ASSERT_TRUE(original.ParseFromString(d.value));
  EXPECT_EQ(original.amount(), 1);
  auto header = [&](const char* name) {
    const std::string* v = FindHeader(d.headers, name);
    return v == nullptr ? std::string("<missing>") : *v;
  };
  EXPECT_EQ(header(dlt::kOriginalTopic), "payment.created");
  EXPECT_EQ(DecodeBigEndian32(header(dlt::kOriginalPartition)),
            poison.partition);
  EXPECT_EQ(DecodeBigEndian64(header(dlt::kOriginalOffset)), poison.offset);
  EXPECT_GT(DecodeBigEndian64(header(dlt::kOriginalTimestamp)), 0);
  EXPECT_EQ(header(dlt::kOriginalConsumerGroup), "always-fails");
  EXPECT_EQ(header(dlt::kExceptionMessage), "smtp is down");
  EXPECT_EQ(header(dlt::kExceptionFqcn), "UNAVAILABLE");
  EXPECT_EQ(header(dlt::kAttempts), "3");
  EXPECT_EQ(header("ce_id"), poison.event_id);  // original headers kept
}

TEST_F(RuntimeTest, PermanentErrorsSkipTheRetries) {
  Send(1);
  absl::Mutex mu;
  int attempts = 0;
  auto consumer = Consumer::Create(TestConfig(*cluster_, "permanent"));
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)
                  ->Subscribe<PaymentCreated>(
                      [&](const PaymentCreated&, const Metadata&) {
                        absl::MutexLock lock(&mu);
                        ++attempts;
                        return Permanent(absl::InvalidArgumentError("bad"));
                      })
                  .ok());
  Consumer* c = consumer->get();
  RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(WaitFor([&] { return c->Stats().dead_lettered == 1; }));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(attempts, 1);
}

TEST_F(RuntimeTest, GarbageGoesToTheDeadLetterTopicAtOnce) {
  OutgoingMessage garbage;
  garbage.topic = "payment.created";
  garbage.key = "junk";
  garbage.value = "\xff\xff\xff garbage";
  ASSERT_TRUE(producer_->Publish(garbage).get().ok());
  Send(7);
  absl::Mutex mu;
  std::vector<int64_t> handled;
  auto consumer = Consumer::Create(TestConfig(*cluster_, "garbage"));
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)
                  ->Subscribe<PaymentCreated>(
                      [&](const PaymentCreated& p, const Metadata&) {
                        absl::MutexLock lock(&mu);
                        handled.push_back(p.amount());
                        return absl::OkStatus();
                      })
                  .ok());
  RunningConsumer running(*std::move(consumer));
  std::vector<Dead> dead;
  auto dlq = WatchDeadLetters(&dead, &mu);
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return handled.size() == 1 && dead.size() == 1;
  }));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(handled, std::vector<int64_t>{7});
  EXPECT_EQ(dead[0].value, garbage.value);
  EXPECT_EQ(dead[0].key, "junk");
  EXPECT_THAT(*FindHeader(dead[0].headers, dlt::kExceptionMessage),
              HasSubstr("is not a valid herald.contracts.v1.PaymentCreated"));
  EXPECT_EQ(*FindHeader(dead[0].headers, dlt::kAttempts), "0");
}

TEST(RetryTest, BackoffGrowsAndIsCapped) {
  RetryPolicy policy;
  policy.initial_backoff = absl::Milliseconds(100);
  policy.max_backoff = absl::Milliseconds(1000);
  policy.jitter = 0.2;
  for (int i = 0; i < 50; ++i) {
    absl::Duration first = BackoffFor(policy, 1);
    EXPECT_GE(first, absl::Milliseconds(80));
    EXPECT_LE(first, absl::Milliseconds(120));
    absl::Duration third = BackoffFor(policy, 3);
    EXPECT_GE(third, absl::Milliseconds(320));
    EXPECT_LE(third, absl::Milliseconds(480));
    EXPECT_LE(BackoffFor(policy, 20), absl::Milliseconds(1200));
  }
  EXPECT_TRUE(IsPermanent(Permanent(absl::InternalError("x"))));
  EXPECT_FALSE(IsPermanent(absl::InternalError("x")));
}

}  // namespace
}  // namespace herald
