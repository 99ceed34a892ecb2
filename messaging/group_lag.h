// File: messaging/group_lag.h
//
// How far a consumer group is behind: per partition, its committed offset,
// the partition's end offset and the difference. Read without joining the
// group (its members are not disturbed).
//
// Example (what `heraldctl groups lag` does):
//
//   absl::StatusOr<std::vector<herald::PartitionLag>> lag = herald::GroupLag(
//       config, "email-worker-group", herald::ContractTopics());
//   for (const herald::PartitionLag& p : *lag) {
//     std::cout << p.topic << "/" << p.partition << " " << p.lag << "\n";
//   }
#ifndef HERALD_MESSAGING_GROUP_LAG_H_
#define HERALD_MESSAGING_GROUP_LAG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "messaging/config.h"

namespace herald {

struct PartitionLag {
  std::string group;
  std::string topic;
  int32_t partition = -1;
  int64_t committed = -1;  // -1: nothing committed on this partition
  int64_t end = 0;         // the next offset to be written
  // end - committed; with nothing committed, every record still in the log
  // (end - log start).
  int64_t lag = 0;
};

// The lag of `group` on each partition of those of `topics` that exist and
// on which the group has committed an offset (a topic the group does not
// read is left out), by topic and partition.
absl::StatusOr<std::vector<PartitionLag>> GroupLag(
    const Config& config, const std::string& group,
    const std::vector<std::string>& topics,
    absl::Duration timeout = absl::Seconds(10));

// The consumer groups the cluster knows (Kafka's ListGroups), sorted.
absl::StatusOr<std::vector<std::string>> ListGroups(
    const Config& config, absl::Duration timeout = absl::Seconds(10));

}  // namespace herald

#endif  // HERALD_MESSAGING_GROUP_LAG_H_
