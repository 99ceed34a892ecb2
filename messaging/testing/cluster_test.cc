#include "messaging/testing/cluster_test.h"

#include "messaging/testing/test_support.h"

namespace herald {
namespace testing {

ClusterTest::ClusterTest(std::vector<std::string> topics, int partitions)
    : topics_(std::move(topics)), partitions_(partitions) {}

void ClusterTest::SetUp() {
  auto cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  cluster_ = *std::move(cluster);
  for (const std::string& topic : topics_) {
    absl::Status created = cluster_->CreateTopic(topic, partitions_);
    ASSERT_TRUE(created.ok()) << topic << ": " << created;
  }
  auto producer = Producer::Create(TestConfig(*cluster_));
  ASSERT_TRUE(producer.ok()) << producer.status();
  producer_ = *std::move(producer);
}

}  // namespace testing
}  // namespace herald
