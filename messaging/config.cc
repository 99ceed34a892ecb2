#include "messaging/config.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace herald {

std::vector<settings::Key> MessagingKeys(Config& c) {
  using settings::Choice;
  using settings::Int;
  using settings::Milliseconds;
  ProducerConfig& p = c.producer;
  ConsumerConfig& k = c.consumer;
  constexpr int kHour = 3600000;
  return {
      settings::String("service", &c.service,
                       "CloudEvents ce_source of sent events (default: the "
                       "binary's name)"),
      settings::String(
          "brokers", &c.brokers,
          "Kafka bootstrap servers host:port[,...]; empty: the gateway starts "
          "the development broker, workers use 127.0.0.1:9092",
          [](absl::string_view v) {
            return v.empty() ? absl::OkStatus() : ValidateBrokerList(v);
          }),
      settings::String("client_id", &c.client_id,
                       "Kafka client.id (default: the binary's name)"),
      Choice("producer.compression", &p.compression,
             {{"none", Compression::kNone},
              {"gzip", Compression::kGzip},
              {"snappy", Compression::kSnappy},
              {"lz4", Compression::kLz4},
              {"zstd", Compression::kZstd}},
             "producer batch compression"),
      Int("producer.linger_ms", &p.linger_ms, 0, 900000, "batching delay"),
      Int("producer.delivery_timeout_ms", &p.delivery_timeout_ms, 0, 2147483647,
          "a send fails after this long (the outbox relay never times out)"),
      Int("producer.enqueue_timeout_ms", &p.enqueue_timeout_ms, 0, kHour,
          "how long a send waits when the local queue is full"),
      Int("producer.close_timeout_ms", &p.close_timeout_ms, 0, kHour,
          "how long closing waits for deliveries"),
      settings::String(
          "producer.partitioner", &p.partitioner,
          "key to partition: murmur2_random is Java's, Spring's and "
          "KafkaJS's (same key, same partition); consistent_random is "
          "librdkafka's own default (CRC32); also murmur2, consistent, "
          "fnv1a_random, fnv1a, random",
          [](absl::string_view v) {
            for (const char* name : kPartitioners) {
              if (v == name) return absl::OkStatus();
            }
            return absl::InvalidArgumentError(absl::StrCat(
                "expected one of ", absl::StrJoin(kPartitioners, ", ")));
          }),
      settings::String("consumer.group_id", &k.group_id,
                       "consumer group (default: the worker's group)"),
      Choice("consumer.auto_offset_reset", &k.auto_offset_reset,
             {{"earliest", OffsetReset::kEarliest},
              {"latest", OffsetReset::kLatest}},
             "where a group without a committed offset starts"),
      Int("consumer.session_timeout_ms", &k.session_timeout_ms, 1000, kHour,
          "group session timeout"),
      Int("consumer.heartbeat_interval_ms", &k.heartbeat_interval_ms, 1, kHour,
          "group heartbeat"),
      Int("consumer.commit_interval_ms", &k.commit_interval_ms, 1, kHour,
          "settled offsets are committed this often and on stop"),
      Int("consumer.fetch_wait_max_ms", &k.fetch_wait_max_ms, 0, 300000,
          "longest fetch wait (bounds latency on idle topics)"),
      Int("consumer.max_attempts", &k.retry.max_attempts, 1, 1000,
          "handler attempts before dead-lettering"),
      Milliseconds("consumer.retry_backoff_ms", &k.retry.initial_backoff, 0,
                   kHour,
                   "first retry backoff; doubles per attempt, +/-20% jitter"),
      Milliseconds("consumer.retry_max_backoff_ms", &k.retry.max_backoff, 0,
                   kHour, "backoff cap"),
      settings::Bool("consumer.dead_letter", &k.dead_letter,
                     "publish exhausted and undecodable records to "
                     "`<topic>.dlq`; false: retry them forever"),
      Int("consumer.concurrency", &k.concurrency, 1, 1024,
          "handler threads (1: handlers run on the polling thread)"),
      Choice("consumer.ordering", &k.ordering,
             {{"partition", Ordering::kPartition},
              {"key", Ordering::kKey},
              {"unordered", Ordering::kUnordered}},
             "what may run at once with concurrency > 1: one record per "
             "partition, one per key (keys in parallel even within a "
             "partition), or any"),
      Int("consumer.max_in_flight", &k.max_in_flight, 1, 1000000,
          "most records a partition holds fetched but not settled; above it "
          "the partition stops fetching until half are settled"),
      settings::Map("kafka.properties.", &c.kafka_properties,
                    "any librdkafka property (SASL, TLS, ...), applied last"),
  };
}

absl::Status ValidateBrokerList(absl::string_view brokers) {
  if (brokers.empty()) {
    return absl::InvalidArgumentError("the broker list is empty");
  }
  for (absl::string_view entry : absl::StrSplit(brokers, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    size_t scheme = entry.find("://");
    if (scheme != absl::string_view::npos) entry.remove_prefix(scheme + 3);
    size_t colon = entry.rfind(':');
    if (entry.empty() || colon == absl::string_view::npos || colon == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", entry, "' is not host:port"));
    }
    int port;
    if (!absl::SimpleAtoi(entry.substr(colon + 1), &port) || port < 1 ||
        port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", entry, "' has no valid port (1-65535)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace herald
