#include "messaging/pipeline/record.h"

#include "absl/strings/str_cat.h"
#include "base/trace_context.h"
#include "messaging/cloudevents.h"
#include "messaging/internal/kafka.h"
#include "messaging/pipeline/decode.h"

namespace herald {
namespace pipeline {
namespace {

// Whether NUL-terminated `name` is `want`, compared up to the first
// difference (never past name's end).
template <size_t N>
bool Named(const char* name, const char (&want)[N]) {
  for (size_t i = 0; i < N; ++i) {
    if (name[i] != want[i]) return false;
  }
  return true;
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
  // One pass; a later header of a name replaces an earlier one (the last
  // one counts, as with rd_kafka_header_get_last).
  std::optional<absl::string_view> traceparent, tracestate;
  kafka_internal::ForEachHeader(
      record, [&](const char* name, absl::string_view value) {
        // (By their first letters: most names are told apart by one or two
        // compares.)
        switch (name[0]) {
          case 'c':
            if (name[1] != 'e' || name[2] != '_') break;
            switch (name[3]) {
              case 'i':
                if (Named(name + 4, "d")) metadata.event_id = value;
                break;
              case 't':
                if (Named(name + 4, "ype")) metadata.event_type = value;
                break;
              case 's':
                if (Named(name + 4, "ource")) metadata.source = value;
                break;
            }
            break;
          case 't':
            if (Named(name, trace::kTraceparent)) {
              traceparent = value;
            } else if (Named(name, trace::kTracestate)) {
              tracestate = value;
            }
            break;
        }
      });
  MetadataAccess::SetTrace(metadata, traceparent, tracestate);
  rd_kafka_timestamp_type_t ts_type;
  int64_t ts = rd_kafka_message_timestamp(record, &ts_type);
  if (ts >= 0) metadata.timestamp = absl::FromUnixMillis(ts);
  MetadataAccess::SetRecord(metadata, record);
  return metadata;
}

absl::Status Decode(const rd_kafka_message_t* record, const Metadata& metadata,
                    google::protobuf::Message& event,
                    absl::string_view type_name) {
  absl::string_view value;
  if (record->payload != nullptr) {
    value = absl::string_view(static_cast<const char*>(record->payload),
                              record->len);
  }
  return DecodeEvent(metadata.event_type, value, event, type_name);
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
