// File: messaging/pipeline/record.h
//
// What the pipeline does with one librdkafka record: own it (RecordPtr),
// describe it to a handler (MetadataOf), decode it as the subscribed type
// (Decode), and describe its failure for the dead-letter topic
// (FailedRecordOf). Internal to messaging: librdkafka types are fine here.
#ifndef HERALD_MESSAGING_PIPELINE_RECORD_H_
#define HERALD_MESSAGING_PIPELINE_RECORD_H_

#include <librdkafka/rdkafka.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "messaging/dead_letter.h"
#include "messaging/metadata.h"

namespace herald {
namespace pipeline {

struct RecordDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using RecordPtr = std::unique_ptr<rd_kafka_message_t, RecordDeleter>;

// Sets what only the pipeline may set on a Metadata.
struct MetadataAccess {
  static void SetRecord(Metadata& metadata, const void* record) {
    metadata.record_ = record;
  }
  static void SetTrace(Metadata& metadata,
                       std::optional<absl::string_view> traceparent,
                       std::optional<absl::string_view> tracestate) {
    metadata.trace_read_ = true;
    metadata.traceparent_ = traceparent;
    metadata.tracestate_ = tracestate;
  }
  // The record's `traceparent` and `tracestate` headers, if any.
  static std::optional<absl::string_view> Traceparent(const Metadata& m) {
    return m.TraceparentHeader();
  }
  static std::optional<absl::string_view> Tracestate(const Metadata& m) {
    return m.TracestateHeader();
  }
};

// The handler's view of `record`, valid while the record lives. Reads the
// headers it needs (the CloudEvents attributes and the trace context) in
// one pass: a lookup by name walks every header.
Metadata MetadataOf(const rd_kafka_message_t* record);

// The record's key, empty when it has none.
absl::string_view KeyOf(const rd_kafka_message_t* record);

// Parses the record's value into `event` after checking that `ce_type`, when
// present, names event's type. InvalidArgument says why it cannot. (The
// record's side of DecodeEvent, messaging/pipeline/decode.h.)
// `type_name` is event's full type name.
absl::Status Decode(const rd_kafka_message_t* record, const Metadata& metadata,
                    google::protobuf::Message& event,
                    absl::string_view type_name);

// The dead-letter description of `record`, which failed with `error` after
// `attempts` attempts (0: never handed to its handler).
FailedRecord FailedRecordOf(const rd_kafka_message_t* record,
                            const Metadata& metadata,
                            absl::string_view consumer_group,
                            const absl::Status& error, int attempts);

}  // namespace pipeline
}  // namespace herald

#endif  // HERALD_MESSAGING_PIPELINE_RECORD_H_
