#include "messaging/envelope.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "messaging/contract.h"

namespace herald {

absl::StatusOr<EventParts> EncodeEventParts(
    const google::protobuf::Message& event, absl::string_view topic) {
  EventParts parts;
  const google::protobuf::Descriptor* type = event.GetDescriptor();
  absl::StatusOr<const Contract*> contract = ContractOf(*type);
  if (contract.ok()) {
    parts.topic = topic.empty() ? (*contract)->topic : std::string(topic);
    if ((*contract)->key_field != nullptr) {
      parts.key = KeyFieldValue(event, *(*contract)->key_field);
    }
  } else if (!topic.empty()) {
    parts.topic = std::string(topic);
  } else {
    return contract.status();
  }
  if (!event.SerializeToString(&parts.value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot serialize ", type->full_name(), " (missing required fields?)"));
  }
  parts.event_id = NewEventId();
  parts.time = absl::Now();
  parts.type = type->full_name();
  return parts;
}

absl::StatusOr<OutgoingMessage> EncodeEvent(
    const google::protobuf::Message& event, absl::string_view source,
    absl::string_view topic) {
  absl::StatusOr<EventParts> parts = EncodeEventParts(event, topic);
  if (!parts.ok()) return parts.status();
  OutgoingMessage out;
  out.topic = std::move(parts->topic);
  out.key = std::move(parts->key);
  out.value = std::move(parts->value);
  out.event_id = std::move(parts->event_id);
  ForEachEventHeader(
      out.event_id, parts->type, source, FormatEventTime(parts->time),
      [&out](absl::string_view name, absl::string_view value) {
        out.headers.emplace_back(std::string(name), std::string(value));
      });
  return out;
}

}  // namespace herald
