// File: messaging/dead_letter.h
//
// Dead-letter records: a record that exhausted its attempts, or could not be
// decoded, is published to `<topic>.dlq` with its original key, value and
// headers, plus the provenance headers Spring Kafka's
// DeadLetterPublishingRecoverer writes, so existing tooling reads them:
//
// clang-format off
//   kafka_dlt-original-topic            text
//   kafka_dlt-original-partition        4-byte big-endian int
//   kafka_dlt-original-offset           8-byte big-endian long
//   kafka_dlt-original-timestamp        8-byte big-endian long (ms)
//   kafka_dlt-original-timestamp-type   "CreateTime" / "LogAppendTime"
//   kafka_dlt-original-consumer-group   text
//   kafka_dlt-exception-fqcn            the absl status code ("UNAVAILABLE")
//   kafka_dlt-exception-message         the error text
//   herald_dlt-attempts                 attempts made, decimal text
// clang-format on
#ifndef HERALD_MESSAGING_DEAD_LETTER_H_
#define HERALD_MESSAGING_DEAD_LETTER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "messaging/cloudevents.h"
#include "messaging/envelope.h"

namespace herald {

namespace dlt {
inline constexpr char kOriginalTopic[] = "kafka_dlt-original-topic";
inline constexpr char kOriginalPartition[] = "kafka_dlt-original-partition";
inline constexpr char kOriginalOffset[] = "kafka_dlt-original-offset";
inline constexpr char kOriginalTimestamp[] = "kafka_dlt-original-timestamp";
inline constexpr char kOriginalTimestampType[] =
    "kafka_dlt-original-timestamp-type";
inline constexpr char kOriginalConsumerGroup[] =
    "kafka_dlt-original-consumer-group";
inline constexpr char kExceptionFqcn[] = "kafka_dlt-exception-fqcn";
inline constexpr char kExceptionMessage[] = "kafka_dlt-exception-message";
inline constexpr char kAttempts[] = "herald_dlt-attempts";
inline constexpr char kTopicSuffix[] = ".dlq";
}  // namespace dlt

// Where a failed record came from and why it failed.
struct FailedRecord {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t timestamp_ms = -1;
  bool log_append_time = false;
  std::string consumer_group;
  std::string key;
  std::string value;
  Headers headers;  // the original ones
  absl::Status error;
  int attempts = 0;
};

// The record to publish to `<topic>.dlq` for `failed`.
OutgoingMessage DeadLetterRecord(const FailedRecord& failed);

// Big-endian decoders for the binary provenance headers.
int32_t DecodeBigEndian32(absl::string_view bytes);
int64_t DecodeBigEndian64(absl::string_view bytes);

}  // namespace herald

#endif  // HERALD_MESSAGING_DEAD_LETTER_H_
