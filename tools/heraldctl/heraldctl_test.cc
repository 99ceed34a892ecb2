// heraldctl against the mock cluster: send from JSON, tail as JSON, and
// read a dead-letter topic with its provenance.
#include "tools/heraldctl/heraldctl.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "messaging/dead_letter.h"
#include "messaging/mock_cluster.h"
#include "messaging/testing/test_support.h"

namespace herald {
namespace ctl {
namespace {

using ::testing::HasSubstr;

TEST(HeraldctlTest, SendsFromJsonAndTailsAsJson) {
  auto cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("payment.created", 1).ok());
  Config config = testing::TestConfig(**cluster);
  auto sent =
      SendJson(config, "PaymentCreated",
               R"({"paymentId":"pay_7","amount":"1999","currency":"EUR"})");
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(sent->topic, "payment.created");
  EXPECT_FALSE(SendJson(config, "Nope", "{}").ok());
  auto bad = SendJson(config, "PaymentCreated", R"({"amount":"lots"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("not a valid PaymentCreated"));

  TailOptions options;
  options.topic = "payment.created";
  options.count = 1;
  options.timeout = absl::Seconds(30);
  std::vector<std::string> lines;
  auto printed = Tail(config, options,
                      [&](const std::string& line) { lines.push_back(line); });
  ASSERT_TRUE(printed.ok()) << printed.status();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("key=pay_7"));
  EXPECT_THAT(lines[0], HasSubstr(R"("amount":"1999")"));
  EXPECT_THAT(lines[0], HasSubstr("id=" + sent->event_id));
}

TEST(HeraldctlTest, SendsRealtimeMessages) {
  auto cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("realtime.messages", 1).ok());
  Config config = testing::TestConfig(**cluster);
  auto sent = SendJson(
      config, "RealtimeMessage",
      R"({"channel":"public.news","event":"note","dataJson":"{\"n\":1}"})");
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(sent->topic, "realtime.messages");
  // What the realtime worker would drop is refused here, with the reason.
  auto bad_channel = SendJson(config, "RealtimeMessage",
                              R"({"channel":"news","dataJson":"{}"})");
  ASSERT_FALSE(bad_channel.ok());
  EXPECT_THAT(bad_channel.status().message(), HasSubstr("public.<name>"));
  auto bad_data = SendJson(config, "RealtimeMessage",
                           R"({"channel":"public.news","dataJson":"{"})");
  ASSERT_FALSE(bad_data.ok());
  EXPECT_THAT(bad_data.status().message(), HasSubstr("dataJson"));

  TailOptions options;
  options.topic = "realtime.messages";
  options.count = 1;
  options.timeout = absl::Seconds(30);
  std::vector<std::string> lines;
  auto printed = Tail(config, options,
                      [&](const std::string& line) { lines.push_back(line); });
  ASSERT_TRUE(printed.ok()) << printed.status();
  ASSERT_EQ(lines.size(), 1u);  // the two refused were not sent
  EXPECT_THAT(lines[0], HasSubstr("key=public.news"));
  EXPECT_THAT(lines[0], HasSubstr(R"("event":"note")"));
}

TEST(HeraldctlTest, TailsDeadLettersWithProvenance) {
  auto cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("user.registered.dlq", 1).ok());
  Config config = testing::TestConfig(**cluster);
  FailedRecord failed;
  failed.topic = "user.registered";
  failed.partition = 2;
  failed.offset = 41;
  failed.timestamp_ms = 1764000000000;
  failed.consumer_group = "email-worker-group";
  failed.key = "u1";
  failed.value = "\xff garbage";
  failed.error = absl::InvalidArgumentError("cannot decode");
  failed.attempts = 0;
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE((*producer)->Publish(DeadLetterRecord(failed)).get().ok());
  TailOptions options;
  options.topic = "user.registered.dlq";
  options.count = 1;
  options.timeout = absl::Seconds(30);
  std::vector<std::string> lines;
  ASSERT_TRUE(Tail(config, options, [&](const std::string& l) {
                lines.push_back(l);
              }).ok());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("from user.registered/2@41"));
  EXPECT_THAT(lines[0], HasSubstr("group=email-worker-group"));
  EXPECT_THAT(lines[0], HasSubstr("error=cannot decode"));
}

}  // namespace
}  // namespace ctl
}  // namespace herald
