// Consumer semantics on the mock cluster: group membership, per-key order,
// commit-after-success, undecodable records, bad configuration.
#include "messaging/consumer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "contracts/v1/payments.pb.h"
#include "messaging/mock_cluster.h"
#include "messaging/producer.h"
#include "messaging/testing/cluster_test.h"
#include "messaging/testing/test_support.h"

namespace herald {
namespace {

using contracts::v1::PaymentCreated;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RunningConsumer;
using testing::TestConfig;
using testing::WaitFor;

class ConsumerTest : public testing::ClusterTest {
 protected:
  PaymentCreated Payment(const std::string& id, int64_t sequence) {
    PaymentCreated p;
    p.set_payment_id(id);
    p.set_amount(sequence);
    p.set_currency("EUR");
    return p;
  }

  std::string SendOrDie(const PaymentCreated& p) {
    DeliveryResult r = producer_->Send(p).get();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->event_id : "";
  }
};

TEST_F(ConsumerTest, GroupMembersSplitPartitionsAndKeepPerKeyOrder) {
  ASSERT_TRUE(cluster_->CreateTopic("payment.created", 6).ok());
  struct Seen {
    absl::Mutex mu;
    std::map<std::string, std::vector<int64_t>> by_key;  // per member
    std::set<std::string> ids;
  };
  Seen seen[2];
  std::vector<std::unique_ptr<RunningConsumer>> members;
  for (int m = 0; m < 2; ++m) {
    auto consumer = Consumer::Create(TestConfig(*cluster_, "split-group"));
    ASSERT_TRUE(consumer.ok()) << consumer.status();
    Seen* s = &seen[m];
    ASSERT_TRUE((*consumer)
                    ->Subscribe<PaymentCreated>(
                        [s](const PaymentCreated& p, const Metadata& meta) {
                          absl::MutexLock lock(&s->mu);
                          s->by_key[p.payment_id()].push_back(p.amount());
                          s->ids.insert(std::string(meta.event_id));
                          return absl::OkStatus();
                        })
                    .ok());
    members.push_back(std::make_unique<RunningConsumer>(*std::move(consumer)));
  }
  // Wait for the group to settle: both members own partitions, 6 in all.
  ASSERT_TRUE(WaitFor([&] {
    size_t a = members[0]->consumer().Assignment().size();
    size_t b = members[1]->consumer().Assignment().size();
    return a > 0 && b > 0 && a + b == 6;
  })) << "group did not split the partitions";

  constexpr int kKeys = 30, kPerKey = 10;
  std::set<std::string> sent;
  for (int i = 0; i < kPerKey; ++i) {
    for (int k = 0; k < kKeys; ++k) {
      std::string id = SendOrDie(Payment(absl::StrCat("pay_", k), i));
      sent.insert(id);
    }
  }
  auto total = [&] {
    std::set<std::string> all;
    for (Seen& s : seen) {
      absl::MutexLock lock(&s.mu);
      all.insert(s.ids.begin(), s.ids.end());
    }
    return all;
  };
  ASSERT_TRUE(WaitFor([&] { return total().size() == sent.size(); }))
      << "saw " << total().size() << " of " << sent.size();
  EXPECT_EQ(total(), sent);
  for (auto& member : members) EXPECT_TRUE(member->Stop().ok());

  std::set<std::string> keys_seen_by[2];
  for (int m = 0; m < 2; ++m) {
    absl::MutexLock lock(&seen[m].mu);
    EXPECT_FALSE(seen[m].ids.empty()) << "member " << m << " got nothing";
    for (const auto& [key, sequence] : seen[m].by_key) {
      keys_seen_by[m].insert(key);
      // Same key, same partition, one member: in send order.
      EXPECT_TRUE(std::is_sorted(sequence.begin(), sequence.end())) << key;
      EXPECT_EQ(sequence.size(), static_cast<size_t>(kPerKey)) << key;
    }
  }
  for (const std::string& key : keys_seen_by[0]) {
    EXPECT_EQ(keys_seen_by[1].count(key), 0u) << key << " seen by both";
  }
}

TEST_F(ConsumerTest, FailedHandlerLeavesOffsetUncommittedUntilRestart) {
  ASSERT_TRUE(cluster_->CreateTopic("payment.created", 1).ok());
  std::string first = SendOrDie(Payment("pay_ok", 1));
  std::string second = SendOrDie(Payment("pay_poison", 2));

  absl::Mutex mu;
  std::vector<std::string> handled, failed;
  // Without a dead-letter topic a failing record is retried forever.
  Config config = TestConfig(*cluster_, "retry-group");
  config.consumer.dead_letter = false;
  config.consumer.retry.max_attempts = 2;
  {
    auto consumer = Consumer::Create(config);
    ASSERT_TRUE(consumer.ok());
    ASSERT_TRUE((*consumer)
                    ->Subscribe<PaymentCreated>(
                        [&](const PaymentCreated& p, const Metadata& meta) {
                          absl::MutexLock lock(&mu);
                          if (p.payment_id() == "pay_poison") {
                            failed.emplace_back(meta.event_id);
                            return absl::UnavailableError("database away");
                          }
                          handled.emplace_back(meta.event_id);
                          return absl::OkStatus();
                        })
                    .ok());
    RunningConsumer running(*std::move(consumer));
    // The failing record is delivered again and again while the member runs.
    ASSERT_TRUE(WaitFor([&] {
      absl::MutexLock lock(&mu);
      return failed.size() >= 3;
    }));
    EXPECT_TRUE(running.Stop().ok());
  }
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(handled, std::vector<std::string>{first});
    for (const std::string& id : failed) EXPECT_EQ(id, second);
    handled.clear();
  }

  // A new member of the group resumes at the failed record, not before it.
  auto consumer = Consumer::Create(TestConfig(*cluster_, "retry-group"));
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)
                  ->Subscribe<PaymentCreated>(
                      [&](const PaymentCreated&, const Metadata& meta) {
                        absl::MutexLock lock(&mu);
                        handled.emplace_back(meta.event_id);
                        return absl::OkStatus();
                      })
                  .ok());
  RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return !handled.empty();
  }));
  EXPECT_TRUE(running.Stop().ok());
  absl::MutexLock lock(&mu);
  EXPECT_EQ(handled, std::vector<std::string>{second});
}

TEST_F(ConsumerTest, UndecodableRecordsAreReportedAndSkipped) {
  ASSERT_TRUE(cluster_->CreateTopic("payment.created", 1).ok());
  OutgoingMessage garbage;
  garbage.topic = "payment.created";
  garbage.key = "junk";
  garbage.value = std::string("\xff\xff\xff\xff\x0f garbage", 13);
  DeliveryResult bad = producer_->Publish(garbage).get();
  ASSERT_TRUE(bad.ok()) << bad.status();
  // Well-formed bytes, but declared as another type.
  OutgoingMessage wrong_type = garbage;
  wrong_type.value = Payment("pay_x", 1).SerializeAsString();
  wrong_type.headers = {{"ce_type", "herald.contracts.v1.UserRegistered"}};
  DeliveryResult wrong = producer_->Publish(wrong_type).get();
  ASSERT_TRUE(wrong.ok());
  std::string good = SendOrDie(Payment("pay_good", 3));

  absl::Mutex mu;
  std::vector<UndecodableRecord> reported;
  std::vector<std::string> reasons;
  std::vector<std::string> handled;
  auto consumer = Consumer::Create(TestConfig(*cluster_, "garbage-group"));
  ASSERT_TRUE(consumer.ok());
  (*consumer)->OnUndecodable([&](const UndecodableRecord& record) {
    absl::MutexLock lock(&mu);
    UndecodableRecord copy = record;
    copy.key = copy.value = copy.topic = {};  // views die with the record
    reported.push_back(copy);
    reasons.push_back(std::string(record.reason.message()));
  });
  ASSERT_TRUE((*consumer)
                  ->Subscribe<PaymentCreated>(
                      [&](const PaymentCreated&, const Metadata& meta) {
                        absl::MutexLock lock(&mu);
                        handled.emplace_back(meta.event_id);
                        return absl::OkStatus();
                      })
                  .ok());
  RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return !handled.empty();
  }));
  EXPECT_TRUE(running.Stop().ok());
  absl::MutexLock lock(&mu);
  EXPECT_EQ(handled, std::vector<std::string>{good});
  ASSERT_EQ(reported.size(), 2u);
  EXPECT_EQ(reported[0].partition, bad->partition);
  EXPECT_EQ(reported[0].offset, bad->offset);
  EXPECT_THAT(reasons[0],
              HasSubstr("is not a valid herald.contracts.v1.PaymentCreated"));
  EXPECT_EQ(reported[1].offset, wrong->offset);
  EXPECT_THAT(reasons[1],
              HasSubstr("ce_type 'herald.contracts.v1.UserRegistered'"));
}

TEST_F(ConsumerTest, SubscribeErrors) {
  auto consumer = Consumer::Create(TestConfig(*cluster_, "g"));
  ASSERT_TRUE(consumer.ok());
  Handler<PaymentCreated> ok = [](const PaymentCreated&, const Metadata&) {
    return absl::OkStatus();
  };
  EXPECT_TRUE((*consumer)->Subscribe<PaymentCreated>(ok).ok());
  EXPECT_EQ((*consumer)->Subscribe<PaymentCreated>(ok).code(),
            absl::StatusCode::kAlreadyExists);
}

// librdkafka refuses a secret property: the error names it and never shows
// its value (ssl_key is never settable; the OAuth secret needs a libcurl
// build, which Debian's is not).
TEST(ClientConfigTest, RefusedSecretPropertiesAreNamedNotEchoed) {
  for (const char* name : {"ssl_key", "sasl.oauthbearer.client.secret"}) {
    Config config;
    config.brokers = "127.0.0.1:1";
    config.consumer.group_id = "g";
    config.kafka_properties[name] = "Hunter2-s3cret";
    auto producer = Producer::Create(config);
    auto consumer = Consumer::Create(config);
    for (const absl::Status& s : {producer.status(), consumer.status()}) {
      if (s.ok()) continue;  // a build that accepts it
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(s.message()),
                  HasSubstr(absl::StrCat("'", name, "' = '***'")));
      EXPECT_THAT(std::string(s.message()), Not(HasSubstr("s3cret")));
    }
  }
}

TEST(ClientConfigTest, BadConfigurationFailsAtCreateWithTheKey) {
  Config config;
  config.brokers = "127.0.0.1:1";
  config.kafka_properties["no.such.property"] = "1";
  auto producer = Producer::Create(config);
  ASSERT_FALSE(producer.ok());
  EXPECT_EQ(producer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(producer.status().message(), HasSubstr("'no.such.property'"));

  config.kafka_properties.clear();
  config.consumer.group_id = "";
  auto consumer = Consumer::Create(config);
  ASSERT_FALSE(consumer.ok());
  EXPECT_THAT(consumer.status().message(), HasSubstr("consumer.group_id"));

  config.brokers = "";
  producer = Producer::Create(config);
  ASSERT_FALSE(producer.ok());
  EXPECT_THAT(producer.status().message(), HasSubstr("no Kafka brokers"));
}

TEST(ClientConfigTest, SendToUnreachableBrokerTimesOutWithAnError) {
  Config config;
  config.brokers = "127.0.0.1:1";  // nothing listens there
  config.producer.delivery_timeout_ms = 500;
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok()) << producer.status();
  PaymentCreated p;
  p.set_payment_id("pay_1");
  DeliveryResult r = (*producer)->Send(p).get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace herald
