// ListTopics against the mock cluster over loopback.
#include "messaging/topics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "messaging/mock_cluster.h"
#include "messaging/testing/test_support.h"

namespace herald {
namespace {

TEST(TopicsTest, ListsEveryTopicWithItsPartitionCountByName) {
  auto cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->CreateTopic("b.topic", 3).ok());
  ASSERT_TRUE((*cluster)->CreateTopic("a.topic", 5).ok());
  absl::StatusOr<std::vector<TopicInfo>> topics =
      ListTopics(testing::TestConfig(**cluster));
  ASSERT_TRUE(topics.ok()) << topics.status();
  ASSERT_EQ(topics->size(), 2u);
  EXPECT_EQ((*topics)[0].name, "a.topic");
  EXPECT_EQ((*topics)[0].partitions, 5);
  EXPECT_EQ((*topics)[1].name, "b.topic");
  EXPECT_EQ((*topics)[1].partitions, 3);
}

TEST(TopicsTest, NoBrokerIsUnavailableAfterTheTimeout) {
  Config config;
  config.service = "test";
  config.brokers = "127.0.0.1:1";  // nothing listens on port 1
  absl::StatusOr<std::vector<TopicInfo>> topics =
      ListTopics(config, absl::Milliseconds(500));
  ASSERT_FALSE(topics.ok());
  EXPECT_NE(topics.status().code(), absl::StatusCode::kOk);
  EXPECT_THAT(std::string(topics.status().message()),
              ::testing::HasSubstr("topic metadata"));
}

TEST(TopicsTest, ARefusedPropertyIsAnInvalidArgumentNamingIt) {
  Config config;
  config.service = "test";
  config.brokers = "127.0.0.1:1";
  config.kafka_properties["no.such.property"] = "1";
  absl::StatusOr<std::vector<TopicInfo>> topics = ListTopics(config);
  ASSERT_FALSE(topics.ok());
  EXPECT_EQ(topics.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(topics.status().message()),
              ::testing::HasSubstr("no.such.property"));
}

}  // namespace
}  // namespace herald
