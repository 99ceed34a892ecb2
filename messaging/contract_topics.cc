#include "messaging/contract_topics.h"

#include <algorithm>

#include "absl/status/statusor.h"
#include "contracts/v1/notifications.pb.h"
#include "contracts/v1/payments.pb.h"
#include "contracts/v1/realtime.pb.h"
#include "contracts/v1/users.pb.h"
#include "messaging/contract.h"

namespace herald {

namespace {

// Every message with a topic in the contract files (contracts/v1), in file
// order: a contract added to one of these files is found without a change
// here. One message of each file stands for its file.
std::vector<const google::protobuf::Descriptor*> FindContracts() {
  std::vector<const google::protobuf::Descriptor*> found;
  for (const google::protobuf::Descriptor* in_file :
       {contracts::v1::PaymentCreated::descriptor(),
        contracts::v1::UserRegistered::descriptor(),
        contracts::v1::EmailNotification::descriptor(),
        contracts::v1::RealtimeMessage::descriptor()}) {
    const google::protobuf::FileDescriptor& file = *in_file->file();
    for (int i = 0; i < file.message_type_count(); ++i) {
      // A message without a topic is a part of an event, not one.
      if (ContractOf(*file.message_type(i)).ok()) {
        found.push_back(file.message_type(i));
      }
    }
  }
  return found;
}

}  // namespace

const std::vector<const google::protobuf::Descriptor*>& AllContracts() {
  static const auto* const contracts =
      new std::vector<const google::protobuf::Descriptor*>(FindContracts());
  return *contracts;
}

std::vector<std::string> ContractTopics() {
  std::vector<std::string> topics;
  for (const google::protobuf::Descriptor* type : AllContracts()) {
    absl::StatusOr<const Contract*> contract = ContractOf(*type);
    if (contract.ok()) topics.push_back((*contract)->topic);
  }
  std::sort(topics.begin(), topics.end());
  topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
  return topics;
}

}  // namespace herald
