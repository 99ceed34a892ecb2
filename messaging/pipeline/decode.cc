#include "messaging/pipeline/decode.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace herald {
namespace pipeline {

absl::Status DecodeEvent(absl::string_view event_type, absl::string_view value,
                         google::protobuf::Message& event) {
  return DecodeEvent(event_type, value, event,
                     event.GetDescriptor()->full_name());
}

absl::Status DecodeEvent(absl::string_view event_type, absl::string_view value,
                         google::protobuf::Message& event,
                         absl::string_view expected) {
  if (!event_type.empty() && event_type != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("ce_type '", event_type,
                     "' does not match the subscribed type ", expected));
  }
  // ParseFromArray takes an int size; Protobuf refuses messages of 2 GiB.
  if (value.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !event.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "value (", value.size(), " bytes) is not a valid ", expected));
  }
  return absl::OkStatus();
}

}  // namespace pipeline
}  // namespace herald
