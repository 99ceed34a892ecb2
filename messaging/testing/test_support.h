// File: messaging/testing/test_support.h
//
// Helpers for tests against the mock cluster: a Config tuned for fast group
// joins, a consumer running on its own thread, and polling for a condition.
#ifndef HERALD_MESSAGING_TESTING_TEST_SUPPORT_H_
#define HERALD_MESSAGING_TESTING_TEST_SUPPORT_H_

#include <functional>
#include <memory>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "messaging/config.h"
#include "messaging/consumer.h"
#include "messaging/mock_cluster.h"

namespace herald {
namespace testing {

// A Config pointing at `cluster`, with consumer group `group` and the short
// session timeouts the mock cluster needs for quick rebalances.
Config TestConfig(const MockCluster& cluster, absl::string_view group = "");

// Polls `condition` every 10 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition,
             absl::Duration timeout = absl::Seconds(30));

// Runs a Consumer on a background thread; Stop() (or the destructor) stops
// it and returns what Run() returned.
class RunningConsumer {
 public:
  explicit RunningConsumer(std::unique_ptr<Consumer> consumer);
  ~RunningConsumer();
  absl::Status Stop();
  Consumer& consumer() { return *consumer_; }

 private:
  std::unique_ptr<Consumer> consumer_;
  absl::Status result_;
  std::thread thread_;
};

}  // namespace testing
}  // namespace herald

#endif  // HERALD_MESSAGING_TESTING_TEST_SUPPORT_H_
