// File: messaging/testing/cluster_test.h
//
// A gtest fixture for tests against the mock cluster: before each test a
// one-broker cluster with the given topics and a producer connected to it.
//
// Example:
//
//   class SettlementTest : public herald::testing::ClusterTest {
//    protected:
//     SettlementTest() : ClusterTest({"payment.created",
//     "payment.created.dlq"}) {}
//   };
//   TEST_F(SettlementTest, ...) {
//     producer_->Send(payment).get();
//     auto consumer = Consumer::Create(TestConfig(*cluster_, "group"));
//   }
#ifndef HERALD_MESSAGING_TESTING_CLUSTER_TEST_H_
#define HERALD_MESSAGING_TESTING_CLUSTER_TEST_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "messaging/mock_cluster.h"
#include "messaging/producer.h"

namespace herald {
namespace testing {

class ClusterTest : public ::testing::Test {
 protected:
  // `topics` are created with `partitions` each before every test; others
  // are auto-created (4 partitions) on first use.
  explicit ClusterTest(std::vector<std::string> topics = {},
                       int partitions = 1);

  void SetUp() override;

  std::unique_ptr<MockCluster> cluster_;
  std::unique_ptr<Producer> producer_;  // TestConfig(*cluster_)

 private:
  std::vector<std::string> topics_;
  int partitions_;
};

}  // namespace testing
}  // namespace herald

#endif  // HERALD_MESSAGING_TESTING_CLUSTER_TEST_H_
