// File: messaging/pipeline/decode.h
//
// How the consumer turns a record into the subscribed event, apart from
// librdkafka: record.h's Decode() hands over the record's ce_type header
// and its value, so that this can be tested and fuzzed on any bytes
// (messaging/pipeline/fuzz/record_fuzzer.cc).
//
// Example:
//
//   PaymentCreated event;
//   absl::Status decoded = DecodeEvent(metadata.event_type, value, event);
//   // InvalidArgument: the record is undecodable; the message says why.
#ifndef HERALD_MESSAGING_PIPELINE_DECODE_H_
#define HERALD_MESSAGING_PIPELINE_DECODE_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace herald {
namespace pipeline {

// Parses `value` into `event` after checking that `event_type` (the ce_type
// header), when not empty, names event's type. InvalidArgument says why it
// cannot; `event` may then hold part of the value.
absl::Status DecodeEvent(absl::string_view event_type, absl::string_view value,
                         google::protobuf::Message& event);
// The same, given event's full type name (asking the event for it is a
// virtual call through a once-flag: callers that decode many records of one
// type ask once).
absl::Status DecodeEvent(absl::string_view event_type, absl::string_view value,
                         google::protobuf::Message& event,
                         absl::string_view type_name);

}  // namespace pipeline
}  // namespace herald

#endif  // HERALD_MESSAGING_PIPELINE_DECODE_H_
