#include "messaging/pipeline/dead_letterer.h"

#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "messaging/consumer.h"
#include "messaging/mock_cluster.h"
#include "messaging/testing/test_support.h"

namespace herald {
namespace pipeline {
namespace {

using testing::TestConfig;
using testing::WaitFor;

FailedRecord Failed(int i) {
  FailedRecord f;
  f.topic = "orders";
  f.partition = 0;
  f.offset = i;
  f.key = absl::StrCat("k", i);
  f.value = "v";
  f.consumer_group = "g";
  f.error = absl::InternalError("boom");
  f.attempts = 3;
  return f;
}

TEST(DeadLettererTest, SendsWithoutWaitingAndEachAnswerComesBack) {
  auto cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("orders.dlq", 1).ok());
  Config config = TestConfig(**cluster);
  // Reconnect quickly once the broker is back.
  config.kafka_properties["reconnect.backoff.max.ms"] = "100";
  DeadLetterer dead_letters(config);
  // Warm up (metadata, connection), then take the broker away.
  absl::Mutex mu;
  std::vector<absl::Status> answers;
  auto record = [&](const absl::Status& s) {
    absl::MutexLock lock(&mu);
    answers.push_back(s);
  };
  dead_letters.Send(Failed(0), record);
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return answers.size() == 1;
  }));
  ASSERT_TRUE(answers[0].ok()) << answers[0];
  ASSERT_TRUE((*cluster)->SetBrokerDown(1).ok());
  // With the broker away a batch of dead letters is handed over at once:
  // nobody waits for a round trip per record.
  absl::Time start = absl::Now();
  for (int i = 1; i <= 20; ++i) dead_letters.Send(Failed(i), record);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(answers.size(), 1u);
  }
  ASSERT_TRUE((*cluster)->SetBrokerUp(1).ok());
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return answers.size() == 21;
  }));
  absl::MutexLock lock(&mu);
  for (const absl::Status& s : answers) EXPECT_TRUE(s.ok()) << s;
}

}  // namespace
}  // namespace pipeline
}  // namespace herald
