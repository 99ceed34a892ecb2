#include "messaging/pipeline/instrumented.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/dependency_outage.h"
#include "contracts/v1/payments.pb.h"
#include "messaging/retry.h"

namespace herald {
namespace pipeline {
namespace {

using google::protobuf::Message;
using ::testing::HasSubstr;

TEST(InstrumentedTest, CountsRecordsHandledAndCallsFailedButNotOutages) {
  metrics::Registry registry;
  TopicMetrics metrics = TopicMetricsFor(registry, "payment.created");
  absl::Status next;
  BatchHandler<Message> batch = Instrumented(
      BatchHandler<Message>(
          [&](const std::vector<Received<Message>>&) { return next; }),
      metrics);
  contracts::v1::PaymentCreated event;
  Metadata meta;
  std::vector<Received<Message>> three(3, Received<Message>{&event, &meta});

  next = absl::OkStatus();
  EXPECT_TRUE(batch(three).ok());
  next = FailedAt(1, absl::InternalError("second"));  // the first handled
  EXPECT_EQ(FailedIndex(batch(three)), 1u);
  next = DependencyOutage(absl::UnavailableError("down"));
  EXPECT_TRUE(IsDependencyOutage(batch(three)));

  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("herald_consumer_handled_total{topic=\"payment."
                              "created\"} 4"));
  EXPECT_THAT(text, HasSubstr("herald_consumer_failed_total{topic=\"payment."
                              "created\"} 1"));
  EXPECT_THAT(text, HasSubstr("herald_consumer_handler_duration_seconds_count{"
                              "topic=\"payment.created\"} 3"));
}

TEST(InstrumentedTest, SingleRecordHandlersPassTheAnswerThrough) {
  metrics::Registry registry;
  TopicMetrics metrics = TopicMetricsFor(registry, "t");
  Handler<Message> handler =
      Instrumented(Handler<Message>([](const Message&, const Metadata&) {
                     return Permanent(absl::InvalidArgumentError("bad"));
                   }),
                   metrics);
  contracts::v1::PaymentCreated event;
  Metadata meta;
  absl::Status s = handler(event, meta);
  EXPECT_TRUE(IsPermanent(s));
  EXPECT_THAT(registry.Render(),
              HasSubstr("herald_consumer_failed_total{topic=\"t\"} 1"));
}

}  // namespace
}  // namespace pipeline
}  // namespace herald
