#include "messaging/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace herald {
namespace {

constexpr absl::string_view kPropertiesPrefix = "kafka.properties.";

using Setter = std::function<absl::Status(Config&, absl::string_view)>;

struct KeySpec {
  std::string name;
  Setter set;
};

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(what);
}

Setter StringKey(std::string Config::*field) {
  return [field](Config& c, absl::string_view v) {
    c.*field = std::string(v);
    return absl::OkStatus();
  };
}

// Parses an integer within [min, max].
absl::StatusOr<int> ParseInt(absl::string_view v, int min, int max) {
  int value;
  if (!absl::SimpleAtoi(v, &value)) {
    return Invalid("expected an integer");
  }
  if (value < min || value > max) {
    return Invalid(
        absl::StrCat("expected an integer in [", min, ", ", max, "]"));
  }
  return value;
}

template <typename Section>
Setter IntKey(Section Config::*section, int Section::*field, int min, int max) {
  return [=](Config& c, absl::string_view v) -> absl::Status {
    absl::StatusOr<int> value = ParseInt(v, min, max);
    if (!value.ok()) return value.status();
    (c.*section).*field = *value;
    return absl::OkStatus();
  };
}

Setter TopLevelIntKey(int Config::*field, int min, int max) {
  return [=](Config& c, absl::string_view v) -> absl::Status {
    absl::StatusOr<int> value = ParseInt(v, min, max);
    if (!value.ok()) return value.status();
    c.*field = *value;
    return absl::OkStatus();
  };
}

const std::vector<KeySpec>& Keys() {
  static const auto* keys = new std::vector<KeySpec>{
      {"service", StringKey(&Config::service)},
      {"brokers",
       [](Config& c, absl::string_view v) -> absl::Status {
         if (!v.empty()) {
           absl::Status s = ValidateBrokerList(v);
           if (!s.ok()) return s;
         }
         c.brokers = std::string(v);
         return absl::OkStatus();
       }},
      {"client_id", StringKey(&Config::client_id)},
      {"db",
       [](Config& c, absl::string_view v) -> absl::Status {
         absl::Status s = ValidateDbUrl(v);
         if (!s.ok()) return s;
         c.db = std::string(v);
         return absl::OkStatus();
       }},
      {"http_port", TopLevelIntKey(&Config::http_port, 0, 65535)},
      {"admin_port", TopLevelIntKey(&Config::admin_port, 0, 65535)},
      {"producer.compression",
       [](Config& c, absl::string_view v) -> absl::Status {
         static const auto* codecs =
             new std::map<std::string, Compression, std::less<>>{
                 {"none", Compression::kNone},
                 {"gzip", Compression::kGzip},
                 {"snappy", Compression::kSnappy},
                 {"lz4", Compression::kLz4},
                 {"zstd", Compression::kZstd}};
         auto it = codecs->find(v);
         if (it == codecs->end()) {
           return Invalid("expected one of none, gzip, snappy, lz4, zstd");
         }
         c.producer.compression = it->second;
         return absl::OkStatus();
       }},
      {"producer.linger_ms",
       IntKey(&Config::producer, &ProducerConfig::linger_ms, 0, 900000)},
      {"producer.delivery_timeout_ms",
       IntKey(&Config::producer, &ProducerConfig::delivery_timeout_ms, 0,
              2147483647)},
      {"producer.enqueue_timeout_ms",
       IntKey(&Config::producer, &ProducerConfig::enqueue_timeout_ms, 0,
              3600000)},
      {"producer.close_timeout_ms",
       IntKey(&Config::producer, &ProducerConfig::close_timeout_ms, 0,
              3600000)},
      {"consumer.group_id",
       [](Config& c, absl::string_view v) {
         c.consumer.group_id = std::string(v);
         return absl::OkStatus();
       }},
      {"consumer.auto_offset_reset",
       [](Config& c, absl::string_view v) -> absl::Status {
         if (v == "earliest") {
           c.consumer.auto_offset_reset = OffsetReset::kEarliest;
         } else if (v == "latest") {
           c.consumer.auto_offset_reset = OffsetReset::kLatest;
         } else {
           return Invalid("expected earliest or latest");
         }
         return absl::OkStatus();
       }},
      {"consumer.session_timeout_ms",
       IntKey(&Config::consumer, &ConsumerConfig::session_timeout_ms, 1000,
              3600000)},
      {"consumer.heartbeat_interval_ms",
       IntKey(&Config::consumer, &ConsumerConfig::heartbeat_interval_ms, 1,
              3600000)},
      {"consumer.commit_interval_ms",
       IntKey(&Config::consumer, &ConsumerConfig::commit_interval_ms, 1,
              3600000)},
      {"consumer.fetch_wait_max_ms",
       IntKey(&Config::consumer, &ConsumerConfig::fetch_wait_max_ms, 0,
              300000)},
      {"consumer.retry_backoff_ms",
       IntKey(&Config::consumer, &ConsumerConfig::retry_backoff_ms, 0,
              3600000)},
      {"consumer.retry_max_backoff_ms",
       IntKey(&Config::consumer, &ConsumerConfig::retry_max_backoff_ms, 0,
              3600000)},
      {"consumer.max_attempts",
       IntKey(&Config::consumer, &ConsumerConfig::max_attempts, 1, 1000)},
      {"consumer.batch_size",
       IntKey(&Config::consumer, &ConsumerConfig::batch_size, 1, 100000)},
      {"consumer.batch_wait_ms",
       IntKey(&Config::consumer, &ConsumerConfig::batch_wait_ms, 0, 3600000)},
      {"consumer.inbox_retention_hours",
       IntKey(&Config::consumer, &ConsumerConfig::inbox_retention_hours, 1,
              87600)},
      {"consumer.shutdown_timeout_ms",
       IntKey(&Config::consumer, &ConsumerConfig::shutdown_timeout_ms, 0,
              3600000)},
      {"consumer.concurrency",
       IntKey(&Config::consumer, &ConsumerConfig::concurrency, 1, 1024)},
      {"consumer.ordering",
       [](Config& c, absl::string_view v) -> absl::Status {
         if (v == "partition") {
           c.consumer.ordering = Ordering::kPartition;
         } else if (v == "key") {
           c.consumer.ordering = Ordering::kKey;
         } else if (v == "unordered") {
           c.consumer.ordering = Ordering::kUnordered;
         } else {
           return Invalid("expected partition, key or unordered");
         }
         return absl::OkStatus();
       }},
      {"consumer.max_in_flight",
       IntKey(&Config::consumer, &ConsumerConfig::max_in_flight, 1, 1000000)},
      {"consumer.dead_letter",
       [](Config& c, absl::string_view v) -> absl::Status {
         if (v == "true") {
           c.consumer.dead_letter = true;
         } else if (v == "false") {
           c.consumer.dead_letter = false;
         } else {
           return Invalid("expected true or false");
         }
         return absl::OkStatus();
       }},
      {"idempotency.retention_hours",
       IntKey(&Config::idempotency, &IdempotencyConfig::retention_hours, 1,
              87600)},
      {"outbox.retention_hours",
       IntKey(&Config::outbox, &OutboxConfig::retention_hours, 1, 87600)},
      {"maildir", StringKey(&Config::maildir)},
      {"smtp_url", StringKey(&Config::smtp_url)},
  };
  return *keys;
}

const KeySpec* FindKey(absl::string_view name) {
  for (const KeySpec& key : Keys()) {
    if (key.name == name) return &key;
  }
  return nullptr;
}

absl::Status ApplyYamlNode(Config& config, const YAML::Node& node,
                           const std::string& prefix,
                           const std::string& source) {
  if (node.IsMap()) {
    for (const auto& entry : node) {
      std::string name = entry.first.as<std::string>();
      std::string key = prefix.empty() ? name : absl::StrCat(prefix, ".", name);
      absl::Status s = ApplyYamlNode(config, entry.second, key, source);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  if (node.IsNull()) return absl::OkStatus();
  if (!node.IsScalar()) {
    return Invalid(absl::StrCat("configuration key '", prefix, "' in ", source,
                                ": expected a single value, got a list"));
  }
  return SetConfigKey(config, prefix, node.Scalar(), source);
}

absl::Status ApplyYamlFile(Config& config, const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("configuration file '", path, "' cannot be read"));
  }
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (root.IsNull()) return absl::OkStatus();
    if (!root.IsMap()) {
      return Invalid(absl::StrCat("configuration file '", path,
                                  "': expected a map of keys at the top"));
    }
    return ApplyYamlNode(config, root, "", absl::StrCat("'", path, "'"));
  } catch (const YAML::Exception& e) {
    return Invalid(absl::StrCat("configuration file '", path,
                                "' is not valid YAML: ", e.what()));
  }
}

std::vector<std::string> EnvironNames() {
  std::vector<std::string> names;
  for (char** env = environ; env != nullptr && *env != nullptr; ++env) {
    absl::string_view entry(*env);
    if (!absl::StartsWith(entry, "HERALD_")) continue;
    names.emplace_back(entry.substr(0, entry.find('=')));
  }
  return names;
}

}  // namespace

std::string EnvVarForKey(absl::string_view key) {
  return absl::StrCat(
      "HERALD_", absl::AsciiStrToUpper(absl::StrReplaceAll(key, {{".", "_"}})));
}

std::vector<std::string> ConfigKeys() {
  std::vector<std::string> names;
  for (const KeySpec& key : Keys()) names.push_back(key.name);
  return names;
}

absl::Status ValidateBrokerList(absl::string_view brokers) {
  if (brokers.empty()) return Invalid("the broker list is empty");
  for (absl::string_view entry : absl::StrSplit(brokers, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    size_t scheme = entry.find("://");
    if (scheme != absl::string_view::npos) entry.remove_prefix(scheme + 3);
    size_t colon = entry.rfind(':');
    if (entry.empty() || colon == absl::string_view::npos || colon == 0) {
      return Invalid(absl::StrCat("'", entry, "' is not host:port"));
    }
    int port;
    if (!absl::SimpleAtoi(entry.substr(colon + 1), &port) || port < 1 ||
        port > 65535) {
      return Invalid(absl::StrCat("'", entry, "' has no valid port (1-65535)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDbUrl(absl::string_view db) {
  if (absl::StartsWith(db, "sqlite:") && db.size() > 7) {
    return absl::OkStatus();
  }
  if (absl::StartsWith(db, "postgresql://") ||
      absl::StartsWith(db, "postgres://")) {
    return absl::OkStatus();
  }
  return Invalid("expected sqlite:PATH or postgresql://...");
}

absl::Status SetConfigKey(Config& config, absl::string_view key,
                          absl::string_view value, absl::string_view source) {
  if (absl::StartsWith(key, kPropertiesPrefix) &&
      key.size() > kPropertiesPrefix.size()) {
    config.kafka_properties[std::string(key.substr(kPropertiesPrefix.size()))] =
        std::string(value);
    return absl::OkStatus();
  }
  const KeySpec* spec = FindKey(key);
  if (spec == nullptr) {
    return Invalid(
        absl::StrCat("unknown configuration key '", key, "' in ", source,
                     "; known keys: ", absl::StrJoin(ConfigKeys(), ", "),
                     ", kafka.properties.<librdkafka property>"));
  }
  absl::Status s = spec->set(config, value);
  if (!s.ok()) {
    return Invalid(absl::StrCat("configuration key '", key, "' = '", value,
                                "' in ", source, ": ", s.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> LoadConfig(const ConfigSources& sources) {
  Config config;
  for (const auto& [key, value] : sources.defaults) {
    absl::Status s = SetConfigKey(config, key, value, "built-in defaults");
    if (!s.ok()) return s;
  }
  if (sources.file.has_value() && !sources.file->empty()) {
    absl::Status s = ApplyYamlFile(config, *sources.file);
    if (!s.ok()) return s;
  }

  auto getenv = sources.getenv;
  if (!getenv) {
    getenv = [](const std::string& name) -> std::optional<std::string> {
      const char* value = std::getenv(name.c_str());
      if (value == nullptr) return std::nullopt;
      return std::string(value);
    };
  }
  std::vector<std::string> env_names =
      sources.env_names ? sources.env_names() : EnvironNames();
  for (const std::string& name : env_names) {
    bool known = false;
    for (const KeySpec& key : Keys()) {
      if (EnvVarForKey(key.name) == name) known = true;
    }
    // HERALD_CONFIG names the file itself and is read by the flag layer.
    if (!known && name != "HERALD_CONFIG") {
      return Invalid(absl::StrCat("unknown environment variable '", name,
                                  "': no configuration key maps to it"));
    }
  }
  for (const KeySpec& key : Keys()) {
    std::string name = EnvVarForKey(key.name);
    std::optional<std::string> value = getenv(name);
    if (!value.has_value()) continue;
    absl::Status s = SetConfigKey(config, key.name, *value,
                                  absl::StrCat("environment variable ", name));
    if (!s.ok()) return s;
  }

  for (const auto& [key, value] : sources.overrides) {
    absl::Status s =
        SetConfigKey(config, key, value, absl::StrCat("flag --", key));
    if (!s.ok()) return s;
  }
  return config;
}

}  // namespace herald
