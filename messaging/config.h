// File: messaging/config.h
//
// The messaging library's settings: what Producer, Consumer and the outbox
// relay need (the brokers, this client's names, producer and consumer
// tuning, librdkafka properties), and MessagingKeys(), the keys a binary
// loads them with (base/settings.h: defaults < YAML file < HERALD_*
// environment < flags). The defaults are the member initializers below;
// README.md's configuration reference lists every key.
//
//   brokers: "kafka-1:9092,kafka-2:9092"      # HERALD_BROKERS, --brokers
//   producer:
//     compression: lz4                        # HERALD_PRODUCER_COMPRESSION
//   kafka:
//     properties:                             # passed to librdkafka untouched
//       security.protocol: SASL_SSL
//
// Example:
//
//   herald::Config config;
//   absl::Status loaded = herald::settings::Load(
//       herald::MessagingKeys(config), sources);
#ifndef HERALD_MESSAGING_CONFIG_H_
#define HERALD_MESSAGING_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/settings.h"
#include "messaging/retry.h"

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
  // Which partition a key goes to (librdkafka's `partitioner`).
  // murmur2_random is Java's (and Spring's, KafkaJS's) default: the same
  // key lands on the same partition whichever client wrote it; records
  // without a key are spread at random. See kPartitioners.
  std::string partitioner = "murmur2_random";
};

// The values producer.partitioner accepts: librdkafka's partitioners.
inline constexpr const char* kPartitioners[] = {
    "murmur2_random", "murmur2",      "consistent_random",
    "consistent",     "fnv1a_random", "fnv1a",
    "random"};

struct ConsumerConfig {
  // Consumer group id; workers set their own default.
  std::string group_id;
  OffsetReset auto_offset_reset = OffsetReset::kEarliest;
  int session_timeout_ms = 10000;
  int heartbeat_interval_ms = 3000;
  // Offsets of handled messages are committed this often, and on Stop().
  int commit_interval_ms = 1000;
  // Handler attempts per record and the backoff between them
  // (consumer.max_attempts, consumer.retry_backoff_ms,
  // consumer.retry_max_backoff_ms; see messaging/retry.h).
  RetryPolicy retry;
  // Publish records that exhausted their attempts, or cannot be decoded, to
  // `<topic>.dlq` and move on. When false they are redelivered forever.
  bool dead_letter = true;
  // Longest a fetch waits for data; bounds end-to-end latency on idle topics.
  int fetch_wait_max_ms = 100;
  // Handler threads. 1 runs handlers on the polling thread.
  int concurrency = 1;
  // What may run in parallel when concurrency > 1.
  Ordering ordering = Ordering::kPartition;
  // Most records a partition may hold fetched but not yet settled; above it
  // the partition stops fetching until half of them are settled.
  int max_in_flight = 1000;
};

struct Config {
  // Name of this service; the CloudEvents `ce_source` of what it sends.
  std::string service = "herald";
  // Kafka bootstrap servers, "host:port[,host:port...]". Empty means: use
  // the in-memory development broker (gateway only).
  std::string brokers;
  // Kafka client.id.
  std::string client_id = "herald";
  ProducerConfig producer;
  ConsumerConfig consumer;
  // Arbitrary librdkafka properties (SASL, TLS, ...), applied last to every
  // producer and consumer; `kafka.properties.<name>` in YAML.
  std::map<std::string, std::string> kafka_properties;
};

// MessagingKeys()
//
// The settings keys of `config`, bound to its fields.
std::vector<settings::Key> MessagingKeys(Config& config);

// Checks "host:port[,host:port...]" (an optional "scheme://" prefix per entry
// is allowed).
absl::Status ValidateBrokerList(absl::string_view brokers);

}  // namespace herald

#endif  // HERALD_MESSAGING_CONFIG_H_
