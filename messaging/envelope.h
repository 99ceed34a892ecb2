// File: messaging/envelope.h
//
// An event turned into the exact Kafka record Herald publishes: topic, key,
// CloudEvents headers and the Protobuf bytes. `Producer::Send<T>` does this
// for you; the outbox stores an `OutgoingMessage` in the database and later
// publishes it with `Producer::Publish`, byte for byte.
//
// Example:
//
//   absl::StatusOr<herald::OutgoingMessage> record =
//       herald::EncodeEvent(payment, "gateway");
#ifndef HERALD_MESSAGING_ENVELOPE_H_
#define HERALD_MESSAGING_ENVELOPE_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "google/protobuf/message.h"
#include "messaging/cloudevents.h"

namespace herald {

// A fully encoded Kafka record.
struct OutgoingMessage {
  std::string topic;
  std::string key;
  Headers headers;
  std::string value;
  // The `ce_id` header, kept apart for delivery reports and logs.
  std::string event_id;
};

// An encoded Kafka record viewed in place, for publishing without copying
// it into an OutgoingMessage first (the outbox relay reads its rows so).
struct RecordView {
  absl::string_view topic;
  absl::string_view key;
  absl::Span<const std::pair<absl::string_view, absl::string_view>> headers;
  absl::string_view value;
  absl::string_view event_id;
};

// What every encoding of an event shares, before it is laid out: topic and
// key from its contract, the Protobuf bytes, a new event id and the time.
// EncodeEvent lays them out as an OutgoingMessage; the outbox as its row.
struct EventParts {
  std::string topic;
  std::string key;
  std::string value;
  std::string event_id;
  absl::Time time;
  absl::string_view type;  // the full message name (ce_type)
};

// EncodeEventParts()
//
// The parts of `event`, with the same topic override and errors as
// EncodeEvent.
absl::StatusOr<EventParts> EncodeEventParts(
    const google::protobuf::Message& event, absl::string_view topic = "");

// EncodeEvent()
//
// Encodes `event` with a new event id and the current time. Topic and key come
// from the contract; a non-empty `topic` overrides the contract's topic.
// Fails with FailedPrecondition when the message type is not a contract (and
// no topic is given).
absl::StatusOr<OutgoingMessage> EncodeEvent(
    const google::protobuf::Message& event, absl::string_view source,
    absl::string_view topic = "");

}  // namespace herald

#endif  // HERALD_MESSAGING_ENVELOPE_H_
