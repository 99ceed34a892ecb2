// The messaging settings: their defaults, and the errors a user sees for
// bad values (the loading mechanics are tested in base/settings_test.cc).
#include "messaging/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "base/settings.h"

namespace herald {
namespace {

using ::testing::HasSubstr;

// No file, no environment: only `overrides`.
absl::Status LoadWith(Config& config,
                      std::vector<std::pair<std::string, std::string>>
                          overrides = {}) {
  settings::Sources sources;
  sources.getenv = [](const std::string&) { return std::nullopt; };
  sources.env_names = [] { return std::vector<std::string>{}; };
  sources.overrides = std::move(overrides);
  return settings::Load(MessagingKeys(config), sources);
}

TEST(MessagingConfigTest, Defaults) {
  Config config;
  ASSERT_TRUE(LoadWith(config).ok());
  EXPECT_EQ(config.brokers, "");
  EXPECT_EQ(config.consumer.auto_offset_reset, OffsetReset::kEarliest);
  EXPECT_EQ(config.consumer.retry.max_attempts, 5);
  EXPECT_EQ(config.consumer.retry.initial_backoff, absl::Milliseconds(200));
  EXPECT_EQ(config.consumer.retry.max_backoff, absl::Seconds(10));
  EXPECT_EQ(config.consumer.concurrency, 1);
  EXPECT_EQ(config.consumer.ordering, Ordering::kPartition);
  EXPECT_EQ(config.consumer.max_in_flight, 1000);
}

TEST(MessagingConfigTest, KeysSetTheirFields) {
  Config config;
  ASSERT_TRUE(LoadWith(config, {{"brokers", "k1:9092,k2:9092"},
                                {"producer.compression", "zstd"},
                                {"consumer.max_attempts", "3"},
                                {"consumer.retry_backoff_ms", "20"},
                                {"consumer.ordering", "key"},
                                {"kafka.properties.sasl.mechanism", "PLAIN"}})
                  .ok());
  EXPECT_EQ(config.brokers, "k1:9092,k2:9092");
  EXPECT_EQ(config.producer.compression, Compression::kZstd);
  EXPECT_EQ(config.consumer.retry.max_attempts, 3);
  EXPECT_EQ(config.consumer.retry.initial_backoff, absl::Milliseconds(20));
  EXPECT_EQ(config.consumer.ordering, Ordering::kKey);
  EXPECT_EQ(config.kafka_properties.at("sasl.mechanism"), "PLAIN");
}

TEST(MessagingConfigTest, MalformedBrokerListIsNamedWithItsSource) {
  Config config;
  absl::Status s = LoadWith(config, {{"brokers", "kafka-1:9092,kafka-2"}});
  EXPECT_THAT(s.message(), HasSubstr("'brokers'"));
  EXPECT_THAT(s.message(), HasSubstr("'kafka-2' is not host:port"));
  EXPECT_THAT(s.message(), HasSubstr("--brokers"));
  s = LoadWith(config, {{"brokers", "kafka:99999"}});
  EXPECT_THAT(s.message(), HasSubstr("no valid port"));
}

TEST(MessagingConfigTest, BadValuesAreNamed) {
  struct Case {
    std::string key, value, expected;
  };
  for (const Case& c : std::vector<Case>{
           {"producer.linger_ms", "soon", "expected an integer"},
           {"producer.compression", "brotli", "expected one of none"},
           {"consumer.auto_offset_reset", "middle", "earliest or latest"},
           {"consumer.ordering", "random", "partition, key or unordered"},
           {"consumer.concurrency", "0", "expected an integer in [1, 1024]"},
           {"consumer.dead_letter", "yes", "expected true or false"},
       }) {
    Config config;
    absl::Status s = LoadWith(config, {{c.key, c.value}});
    ASSERT_FALSE(s.ok()) << c.key;
    EXPECT_THAT(s.message(), HasSubstr("'" + c.key + "'"));
    EXPECT_THAT(s.message(), HasSubstr(c.expected));
  }
}

// Every key the messaging library declares is one some binary knows.
TEST(MessagingConfigTest, EveryKeyIsKnown) {
  Config config;
  const std::vector<std::string>& known = settings::KnownKeys();
  for (const settings::Key& key : MessagingKeys(config)) {
    EXPECT_NE(std::find(known.begin(), known.end(), key.name), known.end())
        << key.name;
  }
}

}  // namespace
}  // namespace herald
