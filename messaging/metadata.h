// File: messaging/metadata.h
//
// What a handler learns about the record behind a decoded event: where it was
// read (topic, partition, offset), its key, and its CloudEvents attributes.
//
// The string views point into the consumed record and are valid only while
// the handler runs; copy what you keep.
#ifndef HERALD_MESSAGING_METADATA_H_
#define HERALD_MESSAGING_METADATA_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/trace_context.h"
#include "messaging/cloudevents.h"

namespace herald {
namespace pipeline {
struct MetadataAccess;
}  // namespace pipeline

class Metadata {
 public:
  absl::string_view topic;
  int32_t partition = -1;
  int64_t offset = -1;
  absl::string_view key;
  // CloudEvents attributes (empty when the producer did not send them).
  absl::string_view event_id;    // ce_id
  absl::string_view event_type;  // ce_type
  absl::string_view source;      // ce_source
  // The Kafka record timestamp.
  absl::Time timestamp = absl::InfinitePast();

  // EventTime()
  //
  // `ce_time` when present and valid, else the record timestamp.
  absl::Time EventTime() const;

  // Header()
  //
  // The value of the last header named `name`, if any.
  std::optional<absl::string_view> Header(absl::string_view name) const;

  // Trace()
  //
  // The W3C trace context of the record (its `traceparent` and
  // `tracestate` headers), if it has a valid one. While a (single-record)
  // handler runs, trace::Current() is this too, so the events it sends
  // carry the trace on, as children.
  std::optional<trace::Context> Trace() const;

  // AllHeaders()
  //
  // A copy of every header, in record order.
  Headers AllHeaders() const;

 private:
  friend struct pipeline::MetadataAccess;
  // The librdkafka record, kept opaque so this header stays librdkafka-free.
  const void* record_ = nullptr;
  // The record's `traceparent` and `tracestate` headers, if any: as the
  // pipeline read them in its one pass over the headers, else looked up.
  std::optional<absl::string_view> TraceparentHeader() const;
  std::optional<absl::string_view> TracestateHeader() const;
  // Set when the pipeline read the trace headers (SetTrace).
  bool trace_read_ = false;
  std::optional<absl::string_view> traceparent_;
  std::optional<absl::string_view> tracestate_;
};

}  // namespace herald

#endif  // HERALD_MESSAGING_METADATA_H_
