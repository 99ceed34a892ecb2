// Settings precedence (defaults < file < environment < flags) and the errors
// a user sees for bad settings, on keys of the test's own.
#include "base/settings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"

namespace herald {
namespace settings {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

enum class Mode { kFast, kSafe };

// A component's settings: the defaults are the member initializers.
struct Example {
  std::string brokers;
  int linger_ms = 5;
  bool dead_letter = true;
  Mode mode = Mode::kSafe;
  absl::Duration wait = absl::Milliseconds(50);
  absl::Duration retention = absl::Hours(24);
  std::map<std::string, std::string> properties;
};

std::vector<Key> ExampleKeys(Example& e) {
  return {
      String("brokers", &e.brokers, "Kafka bootstrap servers"),
      Int("producer.linger_ms", &e.linger_ms, 0, 900000, "batching delay"),
      Bool("consumer.dead_letter", &e.dead_letter, "dead-letter"),
      Choice("consumer.ordering", &e.mode,
             {{"fast", Mode::kFast}, {"safe", Mode::kSafe}}, "mode"),
      Milliseconds("consumer.batch_wait_ms", &e.wait, 0, 3600000, "wait"),
      Hours("outbox.retention_hours", &e.retention, 1, 87600, "retention"),
      Map("kafka.properties.", &e.properties, "librdkafka properties"),
  };
}

class SettingsTest : public ::testing::Test {
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
  Sources FakeEnvironment(std::map<std::string, std::string> env = {}) {
    Sources sources;
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

  Example example_;
  std::vector<Key> keys_ = ExampleKeys(example_);
};

TEST_F(SettingsTest, DefaultsStayWithoutSources) {
  ASSERT_TRUE(Load(keys_, FakeEnvironment()).ok());
  EXPECT_EQ(example_.linger_ms, 5);
  EXPECT_EQ(example_.mode, Mode::kSafe);
  EXPECT_EQ(keys_[1].get(), "5");
  EXPECT_EQ(keys_[3].get(), "safe");
  EXPECT_EQ(keys_[4].get(), "50");
  EXPECT_EQ(keys_[5].get(), "24");
}

TEST_F(SettingsTest, FileThenEnvironmentThenFlags) {
  Sources sources = FakeEnvironment({{"HERALD_BROKERS", "env-kafka:9092"},
                                     {"HERALD_PRODUCER_LINGER_MS", "20"}});
  sources.defaults = {{"consumer.ordering", "fast"}};
  sources.file = WriteYaml(R"(
brokers: file-kafka:9092
producer:
  linger_ms: 7
consumer:
  batch_wait_ms: 80
outbox:
  retention_hours: 72
kafka:
  properties:
    security.protocol: SASL_SSL
    sasl.mechanism: PLAIN
)");
  sources.overrides = {{"brokers", "flag-kafka:9093"}};
  ASSERT_TRUE(Load(keys_, sources).ok());
  EXPECT_EQ(example_.mode, Mode::kFast);             // binary default
  EXPECT_EQ(example_.wait, absl::Milliseconds(80));  // file
  EXPECT_EQ(example_.retention, absl::Hours(72));    // file
  EXPECT_EQ(example_.linger_ms, 20);                 // env > file
  EXPECT_EQ(example_.brokers, "flag-kafka:9093");    // flag > env
  EXPECT_EQ(example_.properties.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(example_.properties.at("sasl.mechanism"), "PLAIN");
}

TEST_F(SettingsTest, UnknownKeysAreNamedWithTheirSource) {
  Sources sources = FakeEnvironment();
  sources.file = WriteYaml("producer:\n  lingr_ms: 5\n");
  absl::Status s = Load(keys_, sources);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'producer.lingr_ms'"));
  EXPECT_THAT(s.message(), HasSubstr(*sources.file));
  EXPECT_THAT(s.message(), HasSubstr("producer.linger_ms"));  // known keys

  s = Load(keys_, FakeEnvironment({{"HERALD_BROKER", "kafka:9092"}}));
  EXPECT_THAT(s.message(), HasSubstr("'HERALD_BROKER'"));
}

// One file and one environment serve every binary: a key that another
// Herald binary knows is left alone, even when its value would be bad here.
TEST_F(SettingsTest, AnotherBinarysKeysAreAcceptedAndLeftAlone) {
  Sources sources = FakeEnvironment({{"HERALD_HTTP_PORT", "not a port"}});
  sources.file = WriteYaml("maildir: /var/mail\nbrokers: k:1\n");
  absl::Status s = Load(keys_, sources);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(example_.brokers, "k:1");
}

TEST_F(SettingsTest, BadValuesAreNamed) {
  struct Case {
    std::string key, value, expected;
  };
  for (const Case& c : std::vector<Case>{
           {"producer.linger_ms", "soon", "expected an integer"},
           {"producer.linger_ms", "-1", "expected an integer in [0, 900000]"},
           {"consumer.ordering", "random", "expected fast or safe"},
           {"consumer.dead_letter", "yes", "expected true or false"},
           {"outbox.retention_hours", "0", "expected an integer in [1, 87600]"},
       }) {
    Sources sources = FakeEnvironment();
    sources.overrides = {{c.key, c.value}};
    absl::Status s = Load(keys_, sources);
    ASSERT_FALSE(s.ok()) << c.key;
    EXPECT_THAT(s.message(), HasSubstr("'" + c.key + "' = '" + c.value + "'"));
    EXPECT_THAT(s.message(), HasSubstr("flag --" + c.key));
    EXPECT_THAT(s.message(), HasSubstr(c.expected));
  }
}

TEST_F(SettingsTest, BadValuesNeverEchoSecrets) {
  // A check that echoes the value it refuses, as some do.
  auto echo = [](absl::string_view v) {
    return absl::InvalidArgumentError(absl::StrCat("'", v, "' is refused"));
  };
  std::string url, token;
  std::vector<Key> keys = {String("db", &url, "database", echo),
                           String("smtp.password", &token, "password", echo)};
  struct Case {
    std::string key, value, shown;
  };
  for (const Case& c : std::vector<Case>{
           {"db", "postgresql://u:s3cret@db/herald", "postgresql://u:***@db"},
           {"db", "postgresql://db/herald?password=s3cret", "password=***"},
           {"smtp.password", "s3cret", "'smtp.password' = '***'"},
       }) {
    Sources sources = FakeEnvironment();
    sources.overrides = {{c.key, c.value}};
    absl::Status s = Load(keys, sources);
    ASSERT_FALSE(s.ok()) << c.key;
    EXPECT_THAT(s.message(), Not(HasSubstr("s3cret")));
    EXPECT_THAT(s.message(), HasSubstr(c.shown));
    EXPECT_THAT(s.message(), HasSubstr("flag --" + c.key));
    EXPECT_THAT(s.message(), HasSubstr("is refused"));
  }
}

// Found by base/fuzz/settings_fuzzer.cc: an alias of a map it is in is a
// cycle, which overflowed the stack; aliases of aliases multiply.
TEST_F(SettingsTest, AliasesThatLoopOrMultiplyAreRefused) {
  Sources sources = FakeEnvironment();
  sources.file = WriteYaml("kafka:\n  properties: &p\n    a: 1\n    b: *p\n");
  absl::Status s = Load(keys_, sources);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("nested more than 32 levels"));

  std::string laughs = "kafka:\n  properties:\n    l0: &l0 {a: 1, b: 1}\n";
  for (int i = 1; i < 20; ++i) {
    laughs += "    l" + std::to_string(i) + ": &l" + std::to_string(i) +
              " {a: *l" + std::to_string(i - 1) + ", b: *l" +
              std::to_string(i - 1) + "}\n";
  }
  sources.file = WriteYaml(laughs);
  s = Load(keys_, sources);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("more than 10000 entries"));

  // An alias of a value is fine.
  sources.file = WriteYaml("brokers: &b k:1\nkafka.properties.x: *b\n");
  EXPECT_TRUE(Load(keys_, sources).ok());
  EXPECT_EQ(example_.properties.at("x"), "k:1");
}

TEST_F(SettingsTest, MissingAndInvalidFiles) {
  Sources sources = FakeEnvironment();
  sources.file = "/nonexistent/herald.yaml";
  EXPECT_EQ(Load(keys_, sources).code(), absl::StatusCode::kNotFound);
  sources.file = WriteYaml("brokers: [a, b\n");
  EXPECT_THAT(Load(keys_, sources).message(), HasSubstr("not valid YAML"));
  sources.file = WriteYaml("brokers:\n  - a:1\n");
  EXPECT_THAT(Load(keys_, sources).message(),
              HasSubstr("expected a single value"));
}

TEST(SettingsNamesTest, EveryKnownKeyHasAnEnvironmentVariable) {
  for (const std::string& key : KnownKeys()) {
    if (key.back() == '.') continue;  // prefixes have none
    std::string env = EnvVarForKey(key);
    EXPECT_EQ(env.rfind("HERALD_", 0), 0u);
    EXPECT_EQ(env.find('.'), std::string::npos);
  }
  EXPECT_EQ(EnvVarForKey("consumer.group_id"), "HERALD_CONSUMER_GROUP_ID");
}

}  // namespace
}  // namespace settings
}  // namespace herald
