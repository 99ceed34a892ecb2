// File: messaging/testing/mock_cluster.h
//
// An in-process Kafka cluster for tests and development: librdkafka's mock
// cluster, reachable over loopback TCP. This is the only file that touches
// the (unstable) mock API; see shared/notes/kafka-mock.md for its limits.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<herald::testing::MockCluster>> cluster =
//       herald::testing::MockCluster::Start(/*num_brokers=*/1);
//   ASSERT_TRUE(cluster.ok());
//   ASSERT_TRUE((*cluster)->CreateTopic("payment.created", 4).ok());
//   config.brokers = (*cluster)->bootstrap_servers();
#ifndef HERALD_MESSAGING_TESTING_MOCK_CLUSTER_H_
#define HERALD_MESSAGING_TESTING_MOCK_CLUSTER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace herald {
namespace testing {

class MockCluster {
 public:
  // Starts `num_brokers` brokers (ids 1..N) on ephemeral loopback ports.
  static absl::StatusOr<std::unique_ptr<MockCluster>> Start(
      int num_brokers = 1);
  ~MockCluster();

  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  // "127.0.0.1:PORT[,...]", for Config::brokers.
  const std::string& bootstrap_servers() const { return bootstrap_; }

  // Creates `topic` (unknown topics are otherwise auto-created with 4
  // partitions on first use).
  absl::Status CreateTopic(absl::string_view topic, int partitions,
                           int replication_factor = 1);

  // Takes broker `broker_id` (1..N) down or back up: its connections close
  // and it stops answering.
  absl::Status SetBrokerDown(int32_t broker_id);
  absl::Status SetBrokerUp(int32_t broker_id);

 private:
  struct Handles;
  explicit MockCluster(std::unique_ptr<Handles> handles);
  std::unique_ptr<Handles> handles_;
  std::string bootstrap_;
};

}  // namespace testing
}  // namespace herald

#endif  // HERALD_MESSAGING_TESTING_MOCK_CLUSTER_H_
