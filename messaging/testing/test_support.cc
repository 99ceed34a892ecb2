#include "messaging/testing/test_support.h"

#include "absl/time/clock.h"

namespace herald {
namespace testing {

Config TestConfig(const MockCluster& cluster, absl::string_view group) {
  Config config;
  config.service = "test";
  config.brokers = cluster.bootstrap_servers();
  config.consumer.group_id = std::string(group);
  // The mock cluster answers joins and leaves after session.timeout - 1 s.
  config.consumer.session_timeout_ms = 6000;
  config.consumer.heartbeat_interval_ms = 1000;
  config.consumer.commit_interval_ms = 100;
  config.consumer.fetch_wait_max_ms = 10;
  config.consumer.retry.initial_backoff = absl::Milliseconds(20);
  config.consumer.retry.max_backoff = absl::Milliseconds(200);
  config.producer.linger_ms = 1;
  return config;
}

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return condition();
}

RunningConsumer::RunningConsumer(std::unique_ptr<Consumer> consumer)
    : consumer_(std::move(consumer)),
      thread_([this] { result_ = consumer_->Run(); }) {}

RunningConsumer::~RunningConsumer() { Stop().IgnoreError(); }

absl::Status RunningConsumer::Stop() {
  if (thread_.joinable()) {
    consumer_->Stop();
    thread_.join();
  }
  return result_;
}

}  // namespace testing
}  // namespace herald
