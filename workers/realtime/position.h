// File: workers/realtime/position.h
//
// Resume tokens: where a stream is in each partition of the topics the
// realtime worker reads (the next offset of each), as the `id` of every
// event it sends. A client that reconnects with it (Last-Event-ID) gets what
// it missed, read again from Kafka. Readable and URL-safe:
//
//   payment.created:5.3.0,payment.updated:2.0.0,realtime.messages:7.0.1.0
//
// (per topic, the next offset of partition 0, 1, ...).
#ifndef HERALD_WORKERS_REALTIME_POSITION_H_
#define HERALD_WORKERS_REALTIME_POSITION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "messaging/tail_reader.h"

namespace herald {
namespace workers {

std::string EncodePosition(const PartitionOffsets& position);

// InvalidArgument for anything EncodePosition does not write.
absl::StatusOr<PartitionOffsets> DecodePosition(absl::string_view token);

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_REALTIME_POSITION_H_
