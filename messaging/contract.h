// File: messaging/contract.h
//
// Reads a Protobuf message's Herald contract: the topic it travels on and the
// field that is its partition key, declared in the .proto with the options of
// contracts/v1/options.proto.
//
// Example:
//
//   absl::StatusOr<const herald::Contract*> contract =
//       herald::ContractOf(*PaymentCreated::descriptor());
//   // (*contract)->topic == "payment.created"
//   absl::StatusOr<std::string> key = herald::PartitionKeyOf(payment);
#ifndef HERALD_MESSAGING_CONTRACT_H_
#define HERALD_MESSAGING_CONTRACT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace herald {

struct Contract {
  // Full Protobuf name, the CloudEvents `ce_type`.
  std::string type;
  std::string topic;
  // The partition key field; nullptr when the contract declares none (records
  // then have no key and are spread over partitions).
  const google::protobuf::FieldDescriptor* key_field = nullptr;
};

// ContractOf()
//
// The contract of a message type, computed once per type and cached (each
// thread also remembers the last type it asked for: senders on a hot path
// mostly send one type, and the shared cache takes a lock). Fails
// with FailedPrecondition when the type declares no topic, or names a key
// field that does not exist or is not a singular scalar.
absl::StatusOr<const Contract*> ContractOf(
    const google::protobuf::Descriptor& type);

// PartitionKeyOf()
//
// The partition key of `event` as text: string fields as they are, integers in
// decimal. Empty when the contract has no key field.
absl::StatusOr<std::string> PartitionKeyOf(
    const google::protobuf::Message& event);

// KeyFieldValue()
//
// The text form of `field` in `event` (the partition key rule above).
std::string KeyFieldValue(const google::protobuf::Message& event,
                          const google::protobuf::FieldDescriptor& field);

// KeyFieldView()
//
// The same text without a copy where it can: a string field is returned in
// place; other types are formatted into `*scratch`, which the view then
// refers to. Valid while `event` and `*scratch` are unchanged. `reflection`,
// when given, is event's own (saves asking it: a virtual call).
absl::string_view KeyFieldView(
    const google::protobuf::Message& event,
    const google::protobuf::FieldDescriptor& field, std::string* scratch,
    const google::protobuf::Reflection* reflection = nullptr);

}  // namespace herald

#endif  // HERALD_MESSAGING_CONTRACT_H_
