// Every contract through Producer::Send<T> and Consumer::Subscribe<T> on the
// mock cluster: value, key and CloudEvents headers as they arrive.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "contracts/v1/notifications.pb.h"
#include "contracts/v1/payments.pb.h"
#include "contracts/v1/users.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "messaging/consumer.h"
#include "messaging/mock_cluster.h"
#include "messaging/producer.h"
#include "messaging/testing/test_support.h"

namespace herald {
namespace {

using contracts::v1::EmailNotification;
using contracts::v1::PaymentCreated;
using contracts::v1::PaymentUpdated;
using contracts::v1::UserRegistered;
using google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using testing::RunningConsumer;
using testing::TestConfig;
using testing::WaitFor;

// What a handler saw, copied out of the record.
struct Received {
  std::string type;
  std::string value;  // re-serialized event
  std::string topic;
  std::string key;
  std::string event_id;
  Headers headers;
  absl::Time event_time;
};

class RoundTripTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = MockCluster::Start(1);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    for (const char* topic :
         {"payment.created", "payment.updated", "user.registered",
          "notification.email", "custom.topic"}) {
      ASSERT_TRUE(cluster_->CreateTopic(topic, 3).ok());
    }
    config_ = TestConfig(*cluster_, "roundtrip");
  }

  template <typename T>
  Handler<T> Record() {
    return [this](const T& event, const Metadata& meta) {
      Received r;
      r.type = T::descriptor()->full_name();
      r.value = event.SerializeAsString();
      r.topic = std::string(meta.topic);
      r.key = std::string(meta.key);
      r.event_id = std::string(meta.event_id);
      r.headers = meta.AllHeaders();
      r.event_time = meta.EventTime();
      absl::MutexLock lock(&mu_);
      received_[r.event_id] = r;
      return absl::OkStatus();
    };
  }

  size_t received_count() {
    absl::MutexLock lock(&mu_);
    return received_.size();
  }

  std::unique_ptr<MockCluster> cluster_;
  Config config_;
  absl::Mutex mu_;
  std::map<std::string, Received> received_;
};

TEST_F(RoundTripTest, EveryContractArrivesWithKeyAndCloudEventsHeaders) {
  auto consumer = Consumer::Create(config_);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_TRUE(
      (*consumer)->Subscribe<PaymentCreated>(Record<PaymentCreated>()).ok());
  ASSERT_TRUE(
      (*consumer)->Subscribe<PaymentUpdated>(Record<PaymentUpdated>()).ok());
  ASSERT_TRUE(
      (*consumer)->Subscribe<UserRegistered>(Record<UserRegistered>()).ok());
  ASSERT_TRUE((*consumer)
                  ->Subscribe<EmailNotification>(Record<EmailNotification>())
                  .ok());
  RunningConsumer running(*std::move(consumer));

  auto producer = Producer::Create(config_);
  ASSERT_TRUE(producer.ok()) << producer.status();

  PaymentCreated created;
  created.set_payment_id("pay_1");
  created.set_user_id("user_1");
  created.set_amount(1999);
  created.set_currency("EUR");
  created.mutable_created_at()->set_seconds(1764000000);
  PaymentUpdated updated;
  updated.set_payment_id("pay_1");
  updated.set_old_status("pending");
  updated.set_new_status("succeeded");
  updated.set_reason("captured");
  UserRegistered user;
  user.set_user_id("user_1");
  user.set_email("ada@example.com");
  user.set_name("Ada");
  EmailNotification email;
  email.set_to("ada@example.com");
  email.set_subject("Hi");
  email.set_body("Hello");
  email.set_template_name("welcome");
  (*email.mutable_template_variables())["name"] = "Ada";

  struct Expected {
    const google::protobuf::Message* event;
    std::string topic;
    std::string key;
  };
  absl::Time before = absl::Now() - absl::Seconds(1);
  std::map<std::string, Expected> sent;
  auto send = [&](const auto& event, std::string topic, std::string key) {
    DeliveryResult report = (*producer)->Send(event).get();
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->topic, topic);
    EXPECT_GE(report->offset, 0);
    sent[report->event_id] = Expected{&event, topic, key};
  };
  send(created, "payment.created", "pay_1");
  send(updated, "payment.updated", "pay_1");
  send(user, "user.registered", "user_1");
  send(email, "notification.email", "ada@example.com");

  ASSERT_TRUE(WaitFor([&] { return received_count() == 4; }))
      << "received " << received_count() << " of 4";
  ASSERT_TRUE(running.Stop().ok());

  absl::MutexLock lock(&mu_);
  for (const auto& [id, expected] : sent) {
    SCOPED_TRACE(expected.topic);
    ASSERT_EQ(received_.count(id), 1u);
    const Received& got = received_[id];
    EXPECT_EQ(got.type, expected.event->GetDescriptor()->full_name());
    EXPECT_EQ(got.value, expected.event->SerializeAsString());
    EXPECT_EQ(got.topic, expected.topic);
    EXPECT_EQ(got.key, expected.key);
    EXPECT_THAT(got.event_id,
                MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-"
                             "f]{3}-[0-9a-f]{12}"));
    ASSERT_NE(FindHeader(got.headers, "ce_specversion"), nullptr);
    EXPECT_EQ(*FindHeader(got.headers, "ce_specversion"), "1.0");
    EXPECT_EQ(*FindHeader(got.headers, "ce_id"), id);
    EXPECT_EQ(*FindHeader(got.headers, "ce_type"), got.type);
    EXPECT_EQ(*FindHeader(got.headers, "ce_source"), "test");
    ASSERT_NE(FindHeader(got.headers, "content-type"), nullptr);
    EXPECT_EQ(*FindHeader(got.headers, "content-type"), "application/protobuf");
    ASSERT_NE(FindHeader(got.headers, "ce_time"), nullptr);
    EXPECT_THAT(*FindHeader(got.headers, "ce_time"),
                MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-"
                             "9]{2}\\.[0-9]{3}Z"));
    EXPECT_GE(got.event_time, before);
    EXPECT_LE(got.event_time, absl::Now());
  }
}

TEST_F(RoundTripTest, ExplicitTopicOverridesTheContract) {
  auto consumer = Consumer::Create(config_);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_TRUE(
      (*consumer)
          ->Subscribe<UserRegistered>("custom.topic", Record<UserRegistered>())
          .ok());
  RunningConsumer running(*std::move(consumer));
  auto producer = Producer::Create(config_);
  ASSERT_TRUE(producer.ok());
  UserRegistered user;
  user.set_user_id("user_7");
  DeliveryResult report = (*producer)->Send("custom.topic", user).get();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->topic, "custom.topic");
  ASSERT_TRUE(WaitFor([&] { return received_count() == 1; }));
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(received_.begin()->second.topic, "custom.topic");
  EXPECT_EQ(received_.begin()->second.key, "user_7");
}

// A typed send names its topic by a handle the producer keeps: a name
// librdkafka refuses fails that send (librdkafka's own error), and the
// producer goes on with the next.
TEST_F(RoundTripTest, ATopicNameLibrdkafkaRefusesFailsOnlyThatSend) {
  auto producer = Producer::Create(config_);
  ASSERT_TRUE(producer.ok());
  UserRegistered user;
  user.set_user_id("user_7");
  const std::string too_long(600, 't');  // librdkafka takes up to 512
  DeliveryResult refused = (*producer)->Send(too_long, user).get();
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("cannot enqueue to"));
  DeliveryResult sent = (*producer)->Send("custom.topic", user).get();
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(sent->topic, "custom.topic");
}

TEST_F(RoundTripTest, CallbackSendReportsDelivery) {
  auto producer = Producer::Create(config_);
  ASSERT_TRUE(producer.ok());
  absl::Mutex mu;
  std::vector<DeliveryResult> results;
  for (int i = 0; i < 10; ++i) {
    PaymentCreated payment;
    payment.set_payment_id(absl::StrCat("pay_", i));
    (*producer)->Send(payment, [&](const DeliveryResult& result) {
      absl::MutexLock lock(&mu);
      results.push_back(result);
    });
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());
  absl::MutexLock lock(&mu);
  ASSERT_EQ(results.size(), 10u);
  for (const DeliveryResult& r : results) EXPECT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*producer)->InFlight(), 0);
}

// A producer's first send to a topic it has not written before goes at
// once: it fetches the cluster's topics when it starts, instead of waiting
// for librdkafka's once-a-second scan of unknown topics (a first payment
// after a start waited up to a second).
TEST_F(RoundTripTest, FirstSendToEachTopicGoesAtOnce) {
  auto producer = Producer::Create(config_);
  ASSERT_TRUE(producer.ok());
  auto first_send = [&](const auto& event) {
    absl::Time start = absl::Now();
    DeliveryResult sent = (*producer)->Send(event).get();
    EXPECT_TRUE(sent.ok()) << sent.status();
    return absl::Now() - start;
  };
  PaymentCreated created;
  created.set_payment_id("pay_1");
  PaymentUpdated updated;
  updated.set_payment_id("pay_1");
  UserRegistered user;
  user.set_user_id("u1");
  // Before: the first topic went at once (the producer asks for it when it
  // starts), each next one about a second later.
  EXPECT_LT(first_send(created), absl::Milliseconds(400));
  EXPECT_LT(first_send(updated), absl::Milliseconds(400));
  EXPECT_LT(first_send(user), absl::Milliseconds(400));
}

// Under load the sending threads serve delivery reports too: from several
// senders at once, every send still gets exactly one report, with its own
// event id and an offset of its own.
TEST_F(RoundTripTest, ManySendersEachReportArrivesOnce) {
  auto producer = Producer::Create(config_);
  ASSERT_TRUE(producer.ok());
  constexpr int kThreads = 4, kPerThread = 3000;
  absl::Mutex mu;
  std::map<std::string, int> reports_per_id;
  std::set<std::pair<int32_t, int64_t>> positions;
  int failures = 0;
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        PaymentCreated payment;
        payment.set_payment_id(absl::StrCat("pay_", t, "_", i));
        (*producer)->Send(payment, [&](const DeliveryResult& result) {
          absl::MutexLock lock(&mu);
          if (!result.ok()) {
            ++failures;
            return;
          }
          ++reports_per_id[result->event_id];
          positions.insert({result->partition, result->offset});
        });
      }
    });
  }
  for (auto& t : senders) t.join();
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(60)).ok());
  absl::MutexLock lock(&mu);
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(reports_per_id.size(), size_t{kThreads * kPerThread});
  for (const auto& [id, n] : reports_per_id) ASSERT_EQ(n, 1) << id;
  EXPECT_EQ(positions.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ((*producer)->InFlight(), 0);
}

TEST(ThreeBrokerTest, RoundTripOnAReplicatedTopic) {
  auto cluster = MockCluster::Start(3);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  EXPECT_EQ(std::count((*cluster)->bootstrap_servers().begin(),
                       (*cluster)->bootstrap_servers().end(), ','),
            2);
  ASSERT_TRUE((*cluster)->CreateTopic("user.registered", 6, 3).ok());
  Config config = TestConfig(**cluster, "three-brokers");
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  std::set<std::string> sent;
  for (int i = 0; i < 30; ++i) {
    UserRegistered user;
    user.set_user_id(absl::StrCat("user_", i));
    DeliveryResult r = (*producer)->Send(user).get();
    ASSERT_TRUE(r.ok()) << r.status();
    sent.insert(r->event_id);
  }
  absl::Mutex mu;
  std::set<std::string> received;
  auto consumer = Consumer::Create(config);
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)
                  ->Subscribe<UserRegistered>(
                      [&](const UserRegistered&, const Metadata& meta) {
                        absl::MutexLock lock(&mu);
                        received.insert(std::string(meta.event_id));
                        return absl::OkStatus();
                      })
                  .ok());
  RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return received.size() == sent.size();
  }));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(received, sent);
}

}  // namespace
}  // namespace herald
