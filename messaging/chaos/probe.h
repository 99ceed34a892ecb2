// File: messaging/chaos/probe.h
//
// What the chaos test reads from Kafka behind the consumers' backs: a
// group's committed offsets (a client with the group's id that never joins
// it, so the group does not rebalance because of it), and every record of a
// partition with its broker timestamp and headers (an assigned reader, no
// group at all). librdkafka stays in probe.cc.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<GroupOffsets>> offsets =
//       GroupOffsets::Create(brokers, "chaos-group");
//   absl::StatusOr<std::vector<int64_t>> committed =
//       (*offsets)->Committed("payment.created", 4, absl::Seconds(5));
//   absl::StatusOr<std::vector<TopicRecord>> dead =
//       ReadPartition(brokers, "payment.created.dlq", 0, absl::Seconds(30));
#ifndef HERALD_MESSAGING_CHAOS_PROBE_H_
#define HERALD_MESSAGING_CHAOS_PROBE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "messaging/cloudevents.h"

namespace herald {
namespace chaos {

class GroupOffsets {
 public:
  static absl::StatusOr<std::unique_ptr<GroupOffsets>> Create(
      absl::string_view brokers, absl::string_view group);
  ~GroupOffsets();

  GroupOffsets(const GroupOffsets&) = delete;
  GroupOffsets& operator=(const GroupOffsets&) = delete;

  // Committed()
  //
  // The group's committed offset (the next record to read) of partitions
  // 0..partitions-1 of `topic`; 0 where nothing was committed. Errors:
  // Unavailable when the broker did not answer within `timeout`.
  absl::StatusOr<std::vector<int64_t>> Committed(absl::string_view topic,
                                                 int partitions,
                                                 absl::Duration timeout);

 private:
  struct Handle;
  explicit GroupOffsets(std::unique_ptr<Handle> handle);
  std::unique_ptr<Handle> handle_;
};

// A record as stored.
struct TopicRecord {
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t timestamp_ms = -1;  // CreateTime: when the producer sent it
  std::string key;
  std::string value;
  Headers headers;
};

// ReadPartition()
//
// Every record of `topic`/`partition` up to its end offset as of the call.
absl::StatusOr<std::vector<TopicRecord>> ReadPartition(
    absl::string_view brokers, absl::string_view topic, int32_t partition,
    absl::Duration timeout);

}  // namespace chaos
}  // namespace herald

#endif  // HERALD_MESSAGING_CHAOS_PROBE_H_
