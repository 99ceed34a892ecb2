// File: messaging/config.h
//
// Herald's configuration: one struct shared by every binary, filled from (in
// increasing precedence) defaults, a YAML file, `HERALD_*` environment
// variables and command-line overrides. Every key has a dotted name; the YAML
// file nests on the dots, the environment variable is `HERALD_` plus the name
// upper-cased with dots as underscores:
//
//   brokers: "kafka-1:9092,kafka-2:9092"      # HERALD_BROKERS, --brokers
//   db: "postgresql://herald@db/herald"       # HERALD_DB, --db
//   producer:
//     compression: lz4                        # HERALD_PRODUCER_COMPRESSION
//   kafka:
//     properties:                             # passed to librdkafka untouched
//       security.protocol: SASL_SSL
//
// Unknown keys and bad values fail loading with a message that names the key,
// the value and where it came from. See README.md for the full key reference.
//
// Example:
//
//   herald::ConfigSources sources;
//   sources.file = "herald.yaml";
//   sources.overrides = {{"brokers", "localhost:9092"}};
//   absl::StatusOr<herald::Config> config = herald::LoadConfig(sources);
//   if (!config.ok()) return config.status();
#ifndef HERALD_MESSAGING_CONFIG_H_
#define HERALD_MESSAGING_CONFIG_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace herald {

// Where a consumer group starts when it has no committed offset.
enum class OffsetReset { kEarliest, kLatest };

// Which records a consumer may handle at the same time (see
// consumer.ordering in README.md, "How a record is settled").
enum class Ordering {
  kPartition,  // one at a time per partition, in offset order
  kKey,        // one at a time per key, in offset order; keys in parallel
  kUnordered,  // any record any time
};

// Producer batch compression codec.
enum class Compression { kNone, kGzip, kSnappy, kLz4, kZstd };

struct ProducerConfig {
  Compression compression = Compression::kNone;
  // How long librdkafka waits to fill a batch.
  int linger_ms = 5;
  // How long a message may wait for delivery (including retries) before it
  // fails with a timeout; maps to librdkafka's `message.timeout.ms`.
  int delivery_timeout_ms = 300000;
  // How long Send() waits for room when the local queue is full.
  int enqueue_timeout_ms = 5000;
  // How long the destructor waits for outstanding deliveries.
  int close_timeout_ms = 10000;
};

struct ConsumerConfig {
  // Consumer group id; workers set their own default.
  std::string group_id;
  OffsetReset auto_offset_reset = OffsetReset::kEarliest;
  int session_timeout_ms = 10000;
  int heartbeat_interval_ms = 3000;
  // Offsets of handled messages are committed this often, and on Stop().
  int commit_interval_ms = 1000;
  // Handler attempts per record (1 = no retry). After the last one, or at
  // once for an error marked Permanent(), the record goes to `<topic>.dlq`.
  int max_attempts = 5;
  // Backoff before the first retry; doubles per attempt (with +/-20%
  // jitter) up to retry_max_backoff_ms.
  int retry_backoff_ms = 200;
  int retry_max_backoff_ms = 10000;
  // Publish records that exhausted their attempts, or cannot be decoded, to
  // `<topic>.dlq` and move on. When false they are redelivered forever.
  bool dead_letter = true;
  // On SIGINT/SIGTERM, how long a worker may take to finish and commit.
  int shutdown_timeout_ms = 30000;
  // Workers that handle batches: most records per batch, and how long a
  // batch waits to fill after its first record.
  int batch_size = 100;
  int batch_wait_ms = 50;
  // Longest a fetch waits for data; bounds end-to-end latency on idle topics.
  int fetch_wait_max_ms = 100;
  // Handler threads. 1 runs handlers on the polling thread.
  int concurrency = 1;
  // What may run in parallel when concurrency > 1.
  Ordering ordering = Ordering::kPartition;
  // Most records a partition may hold fetched but not yet settled; above it
  // the partition stops fetching until half of them are settled.
  int max_in_flight = 1000;
  // Workers: how long the inbox remembers a handled event id. An event
  // redelivered later (e.g. offsets reset to a topic's start) runs again:
  // keep it above the topics' retention (Kafka's default: 7 days).
  int inbox_retention_hours = 168;
};

struct OutboxConfig {
  // Published outbox rows are deleted once this old (from when they were
  // written).
  int retention_hours = 24;
};

struct IdempotencyConfig {
  // How long the gateway remembers an Idempotency-Key and its answer.
  int retention_hours = 24;
};

struct Config {
  // Name of this service; the CloudEvents `ce_source` of what it sends.
  std::string service = "herald";
  // Kafka bootstrap servers, "host:port[,host:port...]". Empty means: use
  // the in-memory development broker (gateway only).
  std::string brokers;
  // Kafka client.id.
  std::string client_id = "herald";
  // Database: "sqlite:PATH" or "postgresql://..." (libpq URL).
  std::string db = "sqlite:herald.db";
  // Gateway HTTP port.
  int http_port = 8080;
  // Worker admin (health, metrics) port.
  int admin_port = 9100;
  // Email worker: Maildir directory emails are written to, unless smtp_url
  // ("smtp://host:port") is set.
  std::string maildir = "maildir";
  std::string smtp_url;
  ProducerConfig producer;
  ConsumerConfig consumer;
  OutboxConfig outbox;            // gateway
  IdempotencyConfig idempotency;  // gateway
  // Arbitrary librdkafka properties (SASL, TLS, ...), applied last to every
  // producer and consumer; `kafka.properties.<name>` in YAML.
  std::map<std::string, std::string> kafka_properties;
};

// The inputs of LoadConfig, in increasing precedence.
struct ConfigSources {
  // (key, value) pairs applied over the built-in defaults, before the file:
  // a binary's own defaults (its service name, its consumer group).
  std::vector<std::pair<std::string, std::string>> defaults;
  // YAML file to read, if any. A missing file is an error.
  std::optional<std::string> file;
  // Reads an environment variable; defaults to getenv. Only names starting
  // with `HERALD_` are consulted.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  // Every `HERALD_*` variable name in the environment, to reject unknown
  // ones; defaults to scanning `environ`.
  std::function<std::vector<std::string>()> env_names;
  // (key, value) pairs, usually from command-line flags; applied last.
  std::vector<std::pair<std::string, std::string>> overrides;
};

// Builds a Config from `sources`. Fails with InvalidArgument naming the key,
// its value and its source when a key is unknown or a value is malformed, and
// with NotFound when the YAML file does not exist.
absl::StatusOr<Config> LoadConfig(const ConfigSources& sources);

// Sets one dotted key (e.g. "producer.linger_ms") from its text form.
// `source` names where it came from in error messages.
absl::Status SetConfigKey(Config& config, absl::string_view key,
                          absl::string_view value, absl::string_view source);

// Names of every key LoadConfig accepts, for documentation and tests.
std::vector<std::string> ConfigKeys();

// The environment variable that sets `key`: "producer.linger_ms" ->
// "HERALD_PRODUCER_LINGER_MS".
std::string EnvVarForKey(absl::string_view key);

// Checks "host:port[,host:port...]" (an optional "scheme://" prefix per entry
// is allowed).
absl::Status ValidateBrokerList(absl::string_view brokers);

// Checks "sqlite:PATH" or "postgresql://..."/"postgres://...".
absl::Status ValidateDbUrl(absl::string_view db);

}  // namespace herald

#endif  // HERALD_MESSAGING_CONFIG_H_
