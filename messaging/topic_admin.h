// File: messaging/topic_admin.h
//
// Creating topics on a real cluster through Kafka's Admin API, idempotently:
// topics that exist are left as they are (their partitions and settings are
// not changed) and reported as such.
//
// Example (what `heraldctl topics ensure` does):
//
//   std::vector<herald::TopicSpec> specs;
//   for (const std::string& topic : herald::ContractTopics()) {
//     specs.push_back({topic, /*partitions=*/6, /*replication=*/3});
//     specs.push_back({topic + ".dlq", 6, 3});
//   }
//   absl::StatusOr<herald::EnsuredTopics> done =
//       herald::EnsureTopics(config, specs);
//   // done->existed, done->created
#ifndef HERALD_MESSAGING_TOPIC_ADMIN_H_
#define HERALD_MESSAGING_TOPIC_ADMIN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "messaging/config.h"

namespace herald {

struct TopicSpec {
  std::string name;
  int partitions = 6;
  int replication = 1;
  // retention.ms of a created topic; unset: the cluster's default.
  std::optional<absl::Duration> retention;
};

struct EnsuredTopics {
  std::vector<std::string> existed;  // left alone
  std::vector<std::string> created;
};

// Creates each topic of `specs` the cluster does not have. Errors name the
// topics that could not be created (e.g. a replication factor above the
// number of brokers, PermissionDenied without the CREATE ACL); Unavailable
// or DeadlineExceeded when the brokers do not answer within `timeout`.
absl::StatusOr<EnsuredTopics> EnsureTopics(
    const Config& config, const std::vector<TopicSpec>& specs,
    absl::Duration timeout = absl::Seconds(30));

}  // namespace herald

#endif  // HERALD_MESSAGING_TOPIC_ADMIN_H_
