// File: messaging/topics.h
//
// What the cluster says about its topics, as a client bootstrapping with a
// Config sees them (brokers, security settings and kafka_properties apply).
//
// Example:
//
//   absl::StatusOr<std::vector<herald::TopicInfo>> topics =
//       herald::ListTopics(config);
//   if (!topics.ok()) return topics.status();  // e.g. Unavailable
//   for (const herald::TopicInfo& t : *topics) {
//     std::cout << t.name << " " << t.partitions << "\n";
//   }
#ifndef HERALD_MESSAGING_TOPICS_H_
#define HERALD_MESSAGING_TOPICS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "messaging/config.h"

namespace herald {

struct TopicInfo {
  std::string name;
  int partitions = 0;
};

// Every topic in the cluster's metadata, by name. Unavailable when no broker
// answers within `timeout`; InvalidArgument for a Config librdkafka refuses.
absl::StatusOr<std::vector<TopicInfo>> ListTopics(
    const Config& config, absl::Duration timeout = absl::Seconds(10));

}  // namespace herald

#endif  // HERALD_MESSAGING_TOPICS_H_
