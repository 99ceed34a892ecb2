// producer.partitioner: by default a key lands on the partition a Java
// producer (Kafka's DefaultPartitioner / BuiltInPartitioner, Spring,
// KafkaJS's DefaultPartitioner) picks for it: toPositive(murmur2(key)) %
// partitions, toPositive(h) = h & 0x7fffffff.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "contracts/v1/payments.pb.h"
#include "messaging/config.h"
#include "messaging/mock_cluster.h"
#include "messaging/producer.h"
#include "messaging/testing/test_support.h"

namespace herald {
namespace {

// Kafka's murmur2 of each key, from Kafka's own test
// (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java,
// testMurmur2); librdkafka's rdmurmur2.c unit test uses the same vectors.
struct JavaVector {
  const char* key;
  int32_t murmur2;
};
constexpr JavaVector kJavaVectors[] = {
    {"21", -973932308},
    {"foobar", -790332482},
    {"a-little-bit-long-string", -985981536},
    {"a-little-bit-longer-string", -1486304829},
    {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
    {"abc", 479470107},
};

int JavaPartition(int32_t murmur2, int partitions) {
  return static_cast<int>((static_cast<uint32_t>(murmur2) & 0x7fffffffu) %
                          static_cast<uint32_t>(partitions));
}

// The partition each vector's key was delivered to by a Producer with
// `partitioner` (empty: the default), on a topic of `partitions`.
std::vector<int> PartitionsOf(const std::string& partitioner, int partitions) {
  auto cluster = MockCluster::Start(1);
  EXPECT_TRUE(cluster.ok());
  EXPECT_TRUE((*cluster)->CreateTopic("payment.created", partitions).ok());
  Config config = testing::TestConfig(**cluster);
  if (!partitioner.empty()) config.producer.partitioner = partitioner;
  auto producer = Producer::Create(config);
  EXPECT_TRUE(producer.ok()) << producer.status();
  std::vector<int> delivered;
  for (const JavaVector& vector : kJavaVectors) {
    contracts::v1::PaymentCreated payment;
    payment.set_payment_id(vector.key);  // the contract's partition key
    DeliveryResult sent = (*producer)->Send(payment).get();
    EXPECT_TRUE(sent.ok()) << sent.status();
    delivered.push_back(sent.ok() ? sent->partition : -1);
  }
  return delivered;
}

TEST(PartitionerTest, ByDefaultAKeyGoesWhereJavaPutsIt) {
  for (int partitions : {4, 6}) {
    std::vector<int> expected;
    for (const JavaVector& vector : kJavaVectors) {
      expected.push_back(JavaPartition(vector.murmur2, partitions));
    }
    EXPECT_EQ(PartitionsOf("", partitions), expected)
        << partitions << " partitions";
  }
}

// What the default changed from: librdkafka's own (CRC32) puts some of the
// same keys elsewhere, so the test above can tell them apart.
TEST(PartitionerTest, LibrdkafkasOwnDefaultDisagreesWithJava) {
  std::vector<int> java;
  for (const JavaVector& vector : kJavaVectors) {
    java.push_back(JavaPartition(vector.murmur2, 6));
  }
  EXPECT_NE(PartitionsOf("consistent_random", 6), java);
}

TEST(PartitionerTest, AnUnknownPartitionerIsRefusedNamingTheKey) {
  Config config;
  settings::Sources sources;
  sources.overrides = {{"producer.partitioner", "murmur3"}};
  absl::Status loaded = settings::Load(MessagingKeys(config), sources);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.message().find("producer.partitioner"), std::string::npos)
      << loaded;
  EXPECT_NE(loaded.message().find("murmur2_random"), std::string::npos);
}

}  // namespace
}  // namespace herald
