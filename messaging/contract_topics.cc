#include "messaging/contract_topics.h"

#include <algorithm>

#include "absl/status/statusor.h"
#include "contracts/v1/notifications.pb.h"
#include "contracts/v1/payments.pb.h"
#include "contracts/v1/realtime.pb.h"
#include "contracts/v1/users.pb.h"
#include "messaging/contract.h"

namespace herald {

const std::vector<const google::protobuf::Descriptor*>& AllContracts() {
  static const auto* const contracts =
      new std::vector<const google::protobuf::Descriptor*>{
          contracts::v1::PaymentCreated::descriptor(),
          contracts::v1::PaymentUpdated::descriptor(),
          contracts::v1::UserRegistered::descriptor(),
          contracts::v1::EmailNotification::descriptor(),
          contracts::v1::RealtimeMessage::descriptor()};
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
