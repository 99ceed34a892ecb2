// File: tools/heraldctl/admin.h
//
// heraldctl's day-two commands for operators:
//
//   heraldctl outbox status --db=URL        pending outbox rows per topic
//   heraldctl topics ensure [--partitions=6 --replication=3 --retention_h=168]
//   heraldctl groups lag [--group=G]        committed, end and lag per
//                                           partition
//
// Each prints a small table to `out`; errors are returned.
#ifndef HERALD_TOOLS_HERALDCTL_ADMIN_H_
#define HERALD_TOOLS_HERALDCTL_ADMIN_H_

#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "messaging/config.h"

namespace herald {
namespace ctl {

// The outbox backlog of the database at `db_url` (the gateway's): pending
// rows and the oldest one's age, per topic and in total. Reads only.
absl::Status OutboxStatus(const std::string& db_url, std::ostream& out);

struct EnsureOptions {
  int partitions = 6;
  int replication = 3;
  std::optional<absl::Duration> retention;  // unset: the cluster's default
  absl::Duration timeout = absl::Seconds(30);
};

// Creates every contract topic and its `.dlq` that the cluster lacks;
// prints "exists <topic>" or "created <topic>" for each.
absl::Status EnsureContractTopics(const Config& config,
                                  const EnsureOptions& options,
                                  std::ostream& out);

// Prints, for `group` (empty: every group the cluster lists), each partition
// of the contract topics and their `.dlq` it reads: committed offset, end
// offset, lag.
absl::Status PrintGroupLag(const Config& config, const std::string& group,
                           std::ostream& out);

}  // namespace ctl
}  // namespace herald

#endif  // HERALD_TOOLS_HERALDCTL_ADMIN_H_
