// File: messaging/contract_topics.h
//
// Every event contract Herald defines (contracts/v1/*.proto) and the topics
// they travel on: what `heraldctl topics ensure` creates and the command
// line tools know by name.
//
// Example:
//
//   for (const std::string& topic : herald::ContractTopics()) {
//     // "notification.email", "payment.created", ..., each once
//   }
#ifndef HERALD_MESSAGING_CONTRACT_TOPICS_H_
#define HERALD_MESSAGING_CONTRACT_TOPICS_H_

#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"

namespace herald {

// The contracts' message types (every message with a topic in the contract
// files), in a fixed order.
const std::vector<const google::protobuf::Descriptor*>& AllContracts();

// Their topics, sorted, each once (without the `.dlq` dead-letter topics).
std::vector<std::string> ContractTopics();

}  // namespace herald

#endif  // HERALD_MESSAGING_CONTRACT_TOPICS_H_
