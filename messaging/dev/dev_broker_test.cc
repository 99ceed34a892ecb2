// The development broker at a fixed address, used by real clients.
#include "messaging/dev/dev_broker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "contracts/v1/users.pb.h"
#include "messaging/consumer.h"
#include "messaging/producer.h"
#include "messaging/testing/test_support.h"

namespace herald {
namespace dev {
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
  EXPECT_TRUE(IsListening("127.0.0.1", options.port));
  auto second = DevBroker::Start(options);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("in use"));
}

}  // namespace
}  // namespace dev
}  // namespace herald
