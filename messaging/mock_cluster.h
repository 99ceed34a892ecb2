// File: messaging/mock_cluster.h
//
// An in-process Kafka cluster for tests and development: librdkafka's mock
// cluster, reachable over loopback TCP. This is the only file that touches
// the mock API, which has no stability guarantee.
//
// Limits of the mock in librdkafka 2.0.2, to design tests around:
// - Group joins: the first takes about 3 s; any later join or leave takes
//   session.timeout.ms - 1 s, so tests use a short session timeout
//   (testing::TestConfig: 6 s, heartbeats every second).
// - Offset commits are refused while a group rebalances, so a commit in a
//   revoke callback fails: expect redelivery around rebalances.
// - Every member of a group must use the same partition.assignment.strategy,
//   or the mock aborts the process.
// - A fetch long-poll is not answered early: delivery takes about
//   fetch.wait.max.ms (tests use 10 ms).
// - A partition keeps at most 5 MiB or 100,000 batches; older records
//   silently disappear. Everything lives in memory.
// - A broker taken down (SetBrokerDown) and back up is reached again after
//   the client's reconnect backoff (about 10 s at librdkafka's defaults).
// - Not trustworthy for exactly-once under mixed faults (the mock skips
//   the idempotent producer's sequence checks), read_committed isolation,
//   transactional offset commits, producer fencing.
// - Admin requests (CreateTopics, DescribeConfigs, group listing) time out
//   or hang: create topics with CreateTopic(), in the owning process.
// - Listeners bind 127.0.0.1 on ports the mock picks (no fixed port): the
//   development broker puts a forwarder on its fixed port.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<herald::MockCluster>> cluster =
//       herald::MockCluster::Start(/*num_brokers=*/1);
//   ASSERT_TRUE(cluster.ok());
//   ASSERT_TRUE((*cluster)->CreateTopic("payment.created", 4).ok());
//   config.brokers = (*cluster)->bootstrap_servers();
//
//   // Fault injection: broker 2 refuses the next 5 produce requests.
//   (*cluster)->FailProduces(2, 5, MockCluster::KafkaError::kPolicyViolation);
#ifndef HERALD_MESSAGING_MOCK_CLUSTER_H_
#define HERALD_MESSAGING_MOCK_CLUSTER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace herald {

class MockCluster {
 public:
  // Kafka protocol error codes a broker can be made to answer with.
  enum class KafkaError : int16_t {
    // Retriable: the producer retries on its own, nothing fails.
    kNotEnoughReplicas = 19,
    // Not retriable: the records of the request fail with this error.
    kTopicAuthorizationFailed = 29,
    kPolicyViolation = 44,
  };

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

  // SetPartitionLeader()
  //
  // Makes broker `broker_id` the leader of `topic`/`partition` (which must
  // exist): its produce and fetch requests go there. Set it before clients
  // connect; they learn of it from metadata.
  absl::Status SetPartitionLeader(absl::string_view topic, int32_t partition,
                                  int32_t broker_id);

  // FailProduces()
  //
  // Broker `broker_id` answers its next `count` produce requests (whatever
  // their topics, one request may carry records of several partitions) with
  // `error` instead of storing them. Calls add up; errors not used yet stay
  // pending. With the leaders of a topic on a broker of their own (see
  // SetPartitionLeader), this makes that topic refuse writes.
  absl::Status FailProduces(int32_t broker_id, int count, KafkaError error);

  // The produce errors FailProduces() queued on `broker_id` that no request
  // has met yet.
  absl::StatusOr<int> PendingProduceFailures(int32_t broker_id);

  // FailNextProduces()
  //
  // The next `count` produce requests to any broker fail with `error`
  // (after the errors queued on a broker by FailProduces()).
  void FailNextProduces(int count, KafkaError error);

 private:
  struct Handles;
  explicit MockCluster(std::unique_ptr<Handles> handles);
  std::unique_ptr<Handles> handles_;
  std::string bootstrap_;
};

}  // namespace herald

#endif  // HERALD_MESSAGING_MOCK_CLUSTER_H_
