#include "messaging/pipeline/record.h"

#include "absl/strings/str_cat.h"
#include "messaging/cloudevents.h"
#include "messaging/pipeline/decode.h"

namespace herald {
namespace pipeline {
namespace {

absl::string_view HeaderView(rd_kafka_headers_t* headers, const char* name) {
  if (headers == nullptr) return {};
  const void* value;
  size_t size;
  if (rd_kafka_header_get_last(headers, name, &value, &size) !=
          RD_KAFKA_RESP_ERR_NO_ERROR ||
      value == nullptr) {
    return {};
  }
  return absl::string_view(static_cast<const char*>(value), size);
}

}  // namespace

absl::string_view KeyOf(const rd_kafka_message_t* record) {
  if (record->key == nullptr) return {};
  return absl::string_view(static_cast<const char*>(record->key),
                           record->key_len);
}

Metadata MetadataOf(const rd_kafka_message_t* record) {
  Metadata metadata;
  metadata.topic = rd_kafka_topic_name(record->rkt);
  metadata.partition = record->partition;
  metadata.offset = record->offset;
  metadata.key = KeyOf(record);
  rd_kafka_headers_t* headers = nullptr;
  // librdkafka parses headers lazily into the record, which stays ours.
  if (rd_kafka_message_headers(record, &headers) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    headers = nullptr;
  }
  metadata.event_id = HeaderView(headers, ce::kId);
  metadata.event_type = HeaderView(headers, ce::kType);
  metadata.source = HeaderView(headers, ce::kSource);
  rd_kafka_timestamp_type_t ts_type;
  int64_t ts = rd_kafka_message_timestamp(record, &ts_type);
  if (ts >= 0) metadata.timestamp = absl::FromUnixMillis(ts);
  MetadataAccess::SetRecord(metadata, record);
  return metadata;
}

absl::Status Decode(const rd_kafka_message_t* record, const Metadata& metadata,
                    google::protobuf::Message& event) {
  absl::string_view value;
  if (record->payload != nullptr) {
    value = absl::string_view(static_cast<const char*>(record->payload),
                              record->len);
  }
  return DecodeEvent(metadata.event_type, value, event);
}

FailedRecord FailedRecordOf(const rd_kafka_message_t* record,
                            const Metadata& metadata,
                            absl::string_view consumer_group,
                            const absl::Status& error, int attempts) {
  FailedRecord failed;
  failed.topic = std::string(metadata.topic);
  failed.partition = record->partition;
  failed.offset = record->offset;
  rd_kafka_timestamp_type_t ts_type;
  failed.timestamp_ms = rd_kafka_message_timestamp(record, &ts_type);
  failed.log_append_time = ts_type == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME;
  failed.consumer_group = std::string(consumer_group);
  failed.key = std::string(metadata.key);
  if (record->payload != nullptr) {
    failed.value.assign(static_cast<const char*>(record->payload), record->len);
  }
  failed.headers = metadata.AllHeaders();
  failed.error = error;
  failed.attempts = attempts;
  return failed;
}

}  // namespace pipeline
}  // namespace herald
