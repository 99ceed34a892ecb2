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
  // The key field is a string (or bytes) field without a default value: the
  // producer reads it from the encoding (KeyFieldInEncoding).
  bool key_in_encoding = false;
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

// KeyFieldInEncoding()
//
// Reads the string (or bytes) field numbered `field_number`, which has no
// default value, from `encoded`, its message's Protobuf encoding, into
// `*key` (a view into `encoded`), without reflection: the wire format spells
// such a field out as it is, and leaves it out when empty. False, leaving
// `*key` alone, for an encoding it does not follow (groups, a cut one): use
// KeyFieldView() then. (Reflection is a tenth of a send's own cost.)
bool KeyFieldInEncoding(absl::string_view encoded, int field_number,
                        absl::string_view* key);

}  // namespace herald

#endif  // HERALD_MESSAGING_CONTRACT_H_
