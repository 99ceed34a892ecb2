#include "messaging/pipeline/dependency_watch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "messaging/mock_cluster.h"
#include "messaging/testing/test_support.h"

namespace herald {
namespace pipeline {
namespace {

using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1000);

class DependencyWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = MockCluster::Start(1);
    ASSERT_TRUE(cluster.ok());
    cluster_ = *std::move(cluster);
    auto reader = Reader::Create(testing::TestConfig(*cluster_, "watch"));
    ASSERT_TRUE(reader.ok());
    reader_ = *std::move(reader);
    dispatcher_ = std::make_unique<Dispatcher>(Ordering::kKey,
                                               std::vector<RouteShape>(1));
    assignment_ = std::make_unique<Assignment>(*reader_, *dispatcher_, 100);
    RetryPolicy backoff;
    backoff.initial_backoff = absl::Milliseconds(100);
    backoff.max_backoff = absl::Seconds(1);
    backoff.jitter = 0;
    watch_ =
        std::make_unique<DependencyWatch>(*dispatcher_, *assignment_, backoff);
    watch_->AddRoute(0, "payment.created", &gauge_);
  }

  std::unique_ptr<MockCluster> cluster_;
  std::unique_ptr<Reader> reader_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<Assignment> assignment_;
  std::unique_ptr<DependencyWatch> watch_;
  metrics::Registry registry_;
  metrics::Gauge& gauge_ =
      registry_.GetGauge("waiting", "waiting", {{"topic", "payment.created"}});
};

TEST_F(DependencyWatchTest, AnOutageHoldsTheRouteWithAGrowingBackoff) {
  const absl::Status down = absl::UnavailableError("PostgreSQL unreachable");
  EXPECT_EQ(watch_->RouteDown(0, down, kT0), kT0 + absl::Milliseconds(100));
  EXPECT_TRUE(dispatcher_->held_back(0));
  EXPECT_EQ(watch_->RouteDown(0, down, kT0), kT0 + absl::Milliseconds(200));
  DependencyWatch::Waiting health = watch_->Health();
  EXPECT_TRUE(health.waiting);
  EXPECT_THAT(health.error, HasSubstr("PostgreSQL unreachable"));
  EXPECT_THAT(registry_.Render(),
              HasSubstr("waiting{topic=\"payment.created\"} 1"));

  // A unit that reached no handler (say, all its records undecodable) says
  // nothing of the dependency: the route stays held and probes again.
  watch_->RouteAnswered(0, /*handler_called=*/false, kT0);
  EXPECT_TRUE(dispatcher_->held_back(0));
  watch_->RouteAnswered(0, /*handler_called=*/true, kT0);
  EXPECT_FALSE(dispatcher_->held_back(0));
  EXPECT_FALSE(watch_->Health().waiting);
  EXPECT_THAT(registry_.Render(),
              HasSubstr("waiting{topic=\"payment.created\"} 0"));
  // The backoff starts over.
  EXPECT_EQ(watch_->RouteDown(0, down, kT0), kT0 + absl::Milliseconds(100));
}

TEST_F(DependencyWatchTest, ARefusedDeadLetterTopicIsWaitedForPerRecord) {
  const absl::Status refused = absl::UnavailableError("policy violation");
  watch_->DeadLetterRefused("t.dlq", refused, /*first=*/true);   // record 1
  watch_->DeadLetterRefused("t.dlq", refused, /*first=*/true);   // record 2
  watch_->DeadLetterRefused("t.dlq", refused, /*first=*/false);  // 1 again
  EXPECT_THAT(watch_->Health().error, HasSubstr("t.dlq"));
  watch_->DeadLetterTaken("t.dlq");  // record 1
  EXPECT_TRUE(watch_->Health().waiting);
  watch_->DeadLetterGivenUp("t.dlq");  // record 2 went with its partition
  EXPECT_FALSE(watch_->Health().waiting);
}

}  // namespace
}  // namespace pipeline
}  // namespace herald
