#include "messaging/envelope.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "messaging/contract.h"

namespace herald {

absl::StatusOr<OutgoingMessage> EncodeEvent(
    const google::protobuf::Message& event, absl::string_view source,
    absl::string_view topic) {
  OutgoingMessage out;
  absl::StatusOr<const Contract*> contract = ContractOf(*event.GetDescriptor());
  if (contract.ok()) {
    out.topic = topic.empty() ? (*contract)->topic : std::string(topic);
    if ((*contract)->key_field != nullptr) {
      out.key = KeyFieldValue(event, *(*contract)->key_field);
    }
  } else if (!topic.empty()) {
    out.topic = std::string(topic);
  } else {
    return contract.status();
  }
  if (!event.SerializeToString(&out.value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot serialize ", event.GetDescriptor()->full_name(),
                     " (missing required fields?)"));
  }
  out.event_id = NewEventId();
  out.headers = {
      {ce::kSpecVersion, ce::kSpecVersionValue},
      {ce::kId, out.event_id},
      {ce::kType, event.GetDescriptor()->full_name()},
      {ce::kSource, std::string(source)},
      {ce::kTime, FormatEventTime(absl::Now())},
      {ce::kContentType, ce::kProtobufContentType},
  };
  return out;
}

}  // namespace herald
