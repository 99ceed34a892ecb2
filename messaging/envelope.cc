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
  ForEachEventHeader(out.event_id, event.GetDescriptor()->full_name(), source,
                     FormatEventTime(absl::Now()),
                     [&out](absl::string_view name, absl::string_view value) {
                       out.headers.emplace_back(std::string(name),
                                                std::string(value));
                     });
  return out;
}

}  // namespace herald
