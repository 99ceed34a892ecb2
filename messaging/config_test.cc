// Configuration precedence (defaults < file < environment < flags) and the
// errors a user sees for bad configuration.
#include "messaging/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>

namespace herald {
namespace {

using ::testing::HasSubstr;

class ConfigTest : public ::testing::Test {
 protected:
  std::string WriteYaml(const std::string& text) {
    std::string path =
        std::string(getenv("TEST_TMPDIR")) + "/" +
        ::testing::UnitTest::GetInstance()->current_test_info()->name() +
        ".yaml";
    std::ofstream(path) << text;
    return path;
  }

  // Sources with a fake environment.
  ConfigSources Sources(std::map<std::string, std::string> env = {}) {
    ConfigSources sources;
    sources.getenv =
        [env](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    sources.env_names = [env] {
      std::vector<std::string> names;
      for (const auto& [name, value] : env) names.push_back(name);
      return names;
    };
    return sources;
  }
};

TEST_F(ConfigTest, DefaultsWithoutSources) {
  absl::StatusOr<Config> config = LoadConfig(Sources());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->db, "sqlite:herald.db");
  EXPECT_EQ(config->http_port, 8080);
  EXPECT_EQ(config->brokers, "");
  EXPECT_EQ(config->consumer.auto_offset_reset, OffsetReset::kEarliest);
  EXPECT_EQ(config->outbox.retention_hours, 24);
  EXPECT_EQ(config->idempotency.retention_hours, 24);
  EXPECT_EQ(config->consumer.inbox_retention_hours, 168);
  EXPECT_EQ(config->consumer.concurrency, 1);
  EXPECT_EQ(config->consumer.ordering, Ordering::kPartition);
  EXPECT_EQ(config->consumer.max_in_flight, 1000);
}

TEST_F(ConfigTest, FileThenEnvironmentThenFlags) {
  ConfigSources sources = Sources({{"HERALD_BROKERS", "env-kafka:9092"},
                                   {"HERALD_PRODUCER_LINGER_MS", "20"}});
  sources.defaults = {{"service", "gateway"}, {"consumer.group_id", "g0"}};
  sources.file = WriteYaml(R"(
brokers: file-kafka:9092
db: postgresql://herald@db/herald
producer:
  compression: zstd
  linger_ms: 7
consumer:
  group_id: file-group
  auto_offset_reset: latest
outbox:
  retention_hours: 72
kafka:
  properties:
    security.protocol: SASL_SSL
    sasl.mechanism: PLAIN
)");
  sources.overrides = {{"brokers", "flag-kafka:9093"}};
  absl::StatusOr<Config> config = LoadConfig(sources);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->service, "gateway");                   // default
  EXPECT_EQ(config->consumer.group_id, "file-group");      // file > default
  EXPECT_EQ(config->db, "postgresql://herald@db/herald");  // file
  EXPECT_EQ(config->producer.compression, Compression::kZstd);
  EXPECT_EQ(config->producer.linger_ms, 20);      // env > file
  EXPECT_EQ(config->brokers, "flag-kafka:9093");  // flag > env
  EXPECT_EQ(config->consumer.auto_offset_reset, OffsetReset::kLatest);
  EXPECT_EQ(config->outbox.retention_hours, 72);
  EXPECT_EQ(config->kafka_properties.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(config->kafka_properties.at("sasl.mechanism"), "PLAIN");
}

TEST_F(ConfigTest, UnknownKeyInFileIsNamed) {
  ConfigSources sources = Sources();
  sources.file = WriteYaml("producer:\n  lingr_ms: 5\n");
  absl::StatusOr<Config> config = LoadConfig(sources);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(),
              HasSubstr("unknown configuration key 'producer.lingr_ms'"));
  EXPECT_THAT(config.status().message(), HasSubstr(*sources.file));
}

TEST_F(ConfigTest, MalformedBrokerListIsNamedWithItsSource) {
  ConfigSources sources = Sources();
  sources.overrides = {{"brokers", "kafka-1:9092,kafka-2"}};
  absl::StatusOr<Config> config = LoadConfig(sources);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("'brokers'"));
  EXPECT_THAT(config.status().message(),
              HasSubstr("'kafka-2' is not host:port"));
  EXPECT_THAT(config.status().message(), HasSubstr("--brokers"));

  sources = Sources({{"HERALD_BROKERS", "kafka:99999"}});
  config = LoadConfig(sources);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("HERALD_BROKERS"));
  EXPECT_THAT(config.status().message(), HasSubstr("no valid port"));
}

TEST_F(ConfigTest, BadValuesAreNamed) {
  struct Case {
    std::string key, value, expected;
  };
  for (const Case& c : std::vector<Case>{
           {"producer.linger_ms", "soon", "expected an integer"},
           {"http_port", "70000", "expected an integer in [0, 65535]"},
           {"producer.compression", "brotli", "expected one of none"},
           {"consumer.auto_offset_reset", "middle", "earliest or latest"},
           {"db", "mysql://x", "expected sqlite:PATH or postgresql://"},
           {"outbox.retention_hours", "0", "expected an integer in [1, 87600]"},
           {"consumer.ordering", "random", "partition, key or unordered"},
           {"consumer.concurrency", "0", "expected an integer in [1, 1024]"},
       }) {
    ConfigSources sources = Sources();
    sources.overrides = {{c.key, c.value}};
    absl::StatusOr<Config> config = LoadConfig(sources);
    ASSERT_FALSE(config.ok()) << c.key;
    EXPECT_THAT(config.status().message(), HasSubstr("'" + c.key + "'"));
    EXPECT_THAT(config.status().message(), HasSubstr(c.expected));
  }
}

TEST_F(ConfigTest, UnknownEnvironmentVariableIsNamed) {
  absl::StatusOr<Config> config =
      LoadConfig(Sources({{"HERALD_BROKER", "kafka:9092"}}));
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("'HERALD_BROKER'"));
}

TEST_F(ConfigTest, MissingAndInvalidFiles) {
  ConfigSources sources = Sources();
  sources.file = "/nonexistent/herald.yaml";
  EXPECT_EQ(LoadConfig(sources).status().code(), absl::StatusCode::kNotFound);
  sources.file = WriteYaml("brokers: [a, b\n");
  absl::StatusOr<Config> config = LoadConfig(sources);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("not valid YAML"));
  sources.file = WriteYaml("brokers:\n  - a:1\n");
  config = LoadConfig(sources);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("expected a single value"));
}

TEST_F(ConfigTest, EveryKeyHasAnEnvironmentVariable) {
  for (const std::string& key : ConfigKeys()) {
    std::string env = EnvVarForKey(key);
    EXPECT_EQ(env.rfind("HERALD_", 0), 0u);
    EXPECT_EQ(env.find('.'), std::string::npos);
  }
  EXPECT_EQ(EnvVarForKey("consumer.group_id"), "HERALD_CONSUMER_GROUP_ID");
}

}  // namespace
}  // namespace herald
