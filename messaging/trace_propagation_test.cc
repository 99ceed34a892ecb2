// W3C trace context through Kafka: a record's traceparent is on the
// handler's Metadata and is the thread's trace while the handler runs, so
// the events it sends (typed Send, EncodeEvent, outbox rows) carry the
// trace on as children; a record without one starts nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "absl/synchronization/mutex.h"
#include "base/trace_context.h"
#include "contracts/v1/payments.pb.h"
#include "contracts/v1/users.pb.h"
#include "messaging/consumer.h"
#include "messaging/envelope.h"
#include "messaging/mock_cluster.h"
#include "messaging/outbox/outbox_store.h"
#include "messaging/producer.h"
#include "messaging/testing/test_support.h"

namespace herald {
namespace {

using contracts::v1::PaymentCreated;
using contracts::v1::UserRegistered;

constexpr char kCaller[] =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";

TEST(TracePropagationTest, FromARecordToItsHandlerAndTheEventsItSends) {
  auto cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("payment.created", 1).ok());
  ASSERT_TRUE((*cluster)->CreateTopic("user.registered", 1).ok());
  Config config = testing::TestConfig(**cluster, "trace-test");
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  std::string sent_traceparent;
  {
    // As the gateway's request thread would.
    trace::Scope scope(*trace::Parse(kCaller, "congo=t61rcWkgMzE"));
    PaymentCreated traced;
    traced.set_payment_id("pay_traced");
    ASSERT_TRUE((*producer)->Send(traced).get().ok());
  }
  PaymentCreated untraced;
  untraced.set_payment_id("pay_untraced");
  ASSERT_TRUE((*producer)->Send(untraced).get().ok());

  struct Seen {
    std::optional<trace::Context> on_metadata;
    std::string current_trace_id;  // "" when trace::Current() was null
    Headers encoded;               // EncodeEvent's headers in the handler
    Headers outbox_row;            // an outbox row's, in the handler
  };
  absl::Mutex mu;
  std::map<std::string, Seen> seen;
  std::map<std::string, std::string> forwarded;  // user id -> traceparent
  auto consumer = Consumer::Create(config);
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)
                  ->Subscribe<PaymentCreated>([&](const PaymentCreated& payment,
                                                  const Metadata& meta) {
                    Seen s;
                    s.on_metadata = meta.Trace();
                    if (const trace::Context* current = trace::Current()) {
                      s.current_trace_id = std::string(current->trace_id());
                    }
                    UserRegistered next;
                    next.set_user_id("from_" + payment.payment_id());
                    s.encoded = EncodeEvent(next, "test")->headers;
                    absl::StatusOr<outbox::OutboxRow> row =
                        outbox::EncodeOutboxRow(next, "test");
                    if (row.ok())
                      s.outbox_row = outbox::ToMessage(*row)->headers;
                    // Sent from the handler: carries the trace on.
                    absl::Status sent = (*producer)->Send(next).get().status();
                    absl::MutexLock lock(&mu);
                    seen[payment.payment_id()] = std::move(s);
                    return sent;
                  })
                  .ok());
  ASSERT_TRUE((*consumer)
                  ->Subscribe<UserRegistered>(
                      [&](const UserRegistered& user, const Metadata& meta) {
                        absl::MutexLock lock(&mu);
                        forwarded[user.user_id()] = std::string(
                            meta.Header(trace::kTraceparent).value_or(""));
                        return absl::OkStatus();
                      })
                  .ok());
  testing::RunningConsumer running(*std::move(consumer));
  ASSERT_TRUE(testing::WaitFor([&] {
    absl::MutexLock lock(&mu);
    return forwarded.size() == 2;
  }));
  ASSERT_TRUE(running.Stop().ok());

  absl::MutexLock lock(&mu);
  const Seen& traced = seen["pay_traced"];
  ASSERT_TRUE(traced.on_metadata.has_value());
  EXPECT_EQ(traced.on_metadata->trace_id(), kTraceId);
  EXPECT_NE(traced.on_metadata->span_id(), "00f067aa0ba902b7");  // a child
  EXPECT_EQ(traced.on_metadata->tracestate(), "congo=t61rcWkgMzE");
  EXPECT_EQ(traced.current_trace_id, kTraceId);
  for (const Headers* headers : {&traced.encoded, &traced.outbox_row}) {
    const std::string* traceparent = FindHeader(*headers, "traceparent");
    ASSERT_NE(traceparent, nullptr);
    EXPECT_EQ(trace::Parse(*traceparent)->trace_id(), kTraceId);
    const std::string* tracestate = FindHeader(*headers, "tracestate");
    ASSERT_NE(tracestate, nullptr);
    EXPECT_EQ(*tracestate, "congo=t61rcWkgMzE");
  }
  std::optional<trace::Context> next =
      trace::Parse(forwarded["from_pay_traced"]);
  ASSERT_TRUE(next.has_value()) << forwarded["from_pay_traced"];
  EXPECT_EQ(next->trace_id(), kTraceId);
  EXPECT_NE(next->span_id(), traced.on_metadata->span_id());

  const Seen& plain = seen["pay_untraced"];
  EXPECT_FALSE(plain.on_metadata.has_value());
  EXPECT_EQ(plain.current_trace_id, "");
  EXPECT_EQ(FindHeader(plain.encoded, "traceparent"), nullptr);
  EXPECT_EQ(forwarded["from_pay_untraced"], "");
}

}  // namespace
}  // namespace herald
