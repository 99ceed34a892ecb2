// The development broker at a fixed address, used by real clients.
#include "devbroker/dev_broker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "contracts/v1/users.pb.h"
#include "messaging/consumer.h"
#include "messaging/producer.h"
#include "messaging/testing/test_support.h"
#include "messaging/topics.h"
#include "web/tcp_forwarder.h"

namespace herald {
namespace devbroker {
namespace {

using contracts::v1::UserRegistered;
using ::testing::HasSubstr;

DevBrokerOptions EphemeralPort() {
  DevBrokerOptions options;
  options.port = 0;  // tests run in parallel: never 9092
  return options;
}

TEST(DevBrokerTest, ProducerAndConsumerGroupWorkThroughTheFixedAddress) {
  auto broker = DevBroker::Start(EphemeralPort());
  ASSERT_TRUE(broker.ok()) << broker.status();
  Config config;
  config.service = "test";
  config.brokers = (*broker)->address();
  config.consumer.group_id = "dev-broker-test";
  config.consumer.session_timeout_ms = 6000;
  config.consumer.heartbeat_interval_ms = 1000;
  config.consumer.fetch_wait_max_ms = 10;

  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  UserRegistered user;
  user.set_user_id("u1");
  DeliveryResult sent = (*producer)->Send(user).get();
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_LT(sent->partition, 6);  // the default topic has 6 partitions

  auto consumer = Consumer::Create(config);
  ASSERT_TRUE(consumer.ok());
  absl::Mutex mu;
  std::string seen;
  ASSERT_TRUE((*consumer)
                  ->Subscribe<UserRegistered>(
                      [&](const UserRegistered& u, const Metadata&) {
                        absl::MutexLock lock(&mu);
                        seen = u.user_id();
                        return absl::OkStatus();
                      })
                  .ok());
  testing::RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(testing::WaitFor([&] {
    absl::MutexLock lock(&mu);
    return seen == "u1";
  }));
}

TEST(DevBrokerTest, PortInUseIsAnErrorNotAnAbort) {
  auto first = DevBroker::Start(EphemeralPort());
  ASSERT_TRUE(first.ok());
  std::string address = (*first)->address();
  DevBrokerOptions options;
  options.port = std::stoi(address.substr(address.rfind(':') + 1));
  EXPECT_TRUE(web::IsListening("127.0.0.1", options.port));
  auto second = DevBroker::Start(options);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("in use"));
}

// Topic -> partition count, as a client bootstrapping at `address` sees it.
std::map<std::string, int> TopicPartitions(const std::string& address) {
  Config config;
  config.service = "test";
  config.brokers = address;
  std::map<std::string, int> topics;
  absl::StatusOr<std::vector<TopicInfo>> listed = ListTopics(config);
  EXPECT_TRUE(listed.ok()) << listed.status();
  if (!listed.ok()) return topics;
  for (const TopicInfo& topic : *listed) topics[topic.name] = topic.partitions;
  return topics;
}

int PortOf(const std::string& address) {
  return std::stoi(address.substr(address.rfind(':') + 1));
}

TEST(DevBrokerTest, ContractTopicsHaveTheConfiguredPartitionCount) {
  DevBrokerOptions options;
  options.port = 0;
  options.partitions = 5;  // neither the default 6 nor auto-creation's 4
  auto broker = DevBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  std::map<std::string, int> topics = TopicPartitions((*broker)->address());
  EXPECT_EQ(DefaultTopics().size(), 10u);  // 5 contract topics, 5 .dlq
  for (const std::string& topic : DefaultTopics()) {
    ASSERT_EQ(topics.count(topic), 1u) << topic;
    EXPECT_EQ(topics[topic], 5) << topic;
  }
  EXPECT_EQ(topics.count("payment.created.dlq"), 1u);
  EXPECT_EQ(topics.count("realtime.messages"), 1u);
}

TEST(DevBrokerTest, ThreeBrokersAreReachableThroughTheForwarder) {
  DevBrokerOptions options;
  options.port = 0;
  options.num_brokers = 3;
  auto broker = DevBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  Config config;
  config.service = "test";
  config.brokers = (*broker)->address();
  config.consumer.group_id = "dev-broker-three";
  config.consumer.session_timeout_ms = 6000;
  config.consumer.heartbeat_interval_ms = 1000;
  config.consumer.fetch_wait_max_ms = 10;
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  std::set<std::string> sent;
  std::set<int> partitions;
  for (int i = 0; i < 30; ++i) {
    UserRegistered user;
    user.set_user_id(absl::StrCat("user_", i));
    DeliveryResult r = (*producer)->Send(user).get();
    ASSERT_TRUE(r.ok()) << r.status();
    sent.insert(r->event_id);
    partitions.insert(r->partition);
  }
  EXPECT_GT(partitions.size(), 1u);  // leaders spread over the brokers
  auto consumer = Consumer::Create(config);
  ASSERT_TRUE(consumer.ok());
  absl::Mutex mu;
  std::set<std::string> received;
  ASSERT_TRUE((*consumer)
                  ->Subscribe<UserRegistered>(
                      [&](const UserRegistered&, const Metadata& meta) {
                        absl::MutexLock lock(&mu);
                        received.insert(std::string(meta.event_id));
                        return absl::OkStatus();
                      })
                  .ok());
  testing::RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(testing::WaitFor([&] {
    absl::MutexLock lock(&mu);
    return received.size() == sent.size();
  }));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(received, sent);
}

TEST(DevBrokerTest, StopsListeningWhenDestroyed) {
  DevBrokerOptions options;
  options.port = 0;
  auto broker = DevBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  int port = PortOf((*broker)->address());
  EXPECT_TRUE(web::IsListening("127.0.0.1", port));
  broker->reset();
  EXPECT_FALSE(web::IsListening("127.0.0.1", port));
  // The port is free again: a new broker can take it.
  options.port = port;
  auto again = DevBroker::Start(options);
  EXPECT_TRUE(again.ok()) << again.status();
}

}  // namespace
}  // namespace devbroker
}  // namespace herald
