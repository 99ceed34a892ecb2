// File: messaging/retry.h
//
// How a consumer retries, and how a handler steers it. What a handler
// returns decides what becomes of its records:
//
//   OK                        settled: the offset may be committed past it.
//   a plain error             the record's own failure: retried after a
//                             backoff (doubling from consumer.retry_backoff_ms
//                             up to consumer.retry_max_backoff_ms, +/-20%
//                             jitter); after consumer.max_attempts it goes to
//                             `<topic>.dlq` and is settled.
//   Permanent(error)          the record's own failure, not worth retrying:
//                             dead-lettered at once.
//   DependencyOutage(error)   not the record's fault: a dependency (the
//                             worker's database, an SMTP server) is down.
//                             The route's partitions pause and one probe runs
//                             after a backoff, until one gets through; no
//                             attempt is used, nothing is dead-lettered.
//                             (base/dependency_outage.h; the database layer
//                             marks its connection and disk errors so.)
//
// A batch handler (Consumer::SubscribeBatch) may name the record at fault:
//
//   FailedAt(i, error)        records before i succeeded (settled); record i
//                             failed with `error` (as above, on its own);
//                             the records after it run again, uncounted.
//
// A batch that fails without saying where is split in halves, and the
// halves run again, down to the record at fault: a good record is never
// retried to exhaustion or dead-lettered because of a neighbour.
//
// While a record waits for its retry only its lane waits (its partition, or
// its key with consumer.ordering=key); everything else goes on.
//
// Example:
//
//   if (!IsValid(event)) {
//     return herald::Permanent(absl::InvalidArgumentError("no such user"));
//   }
//   absl::Status sent = smtp.Send(mail);
//   if (!sent.ok() && IsConnectionError(sent)) {
//     return herald::DependencyOutage(sent);
//   }
#ifndef HERALD_MESSAGING_RETRY_H_
#define HERALD_MESSAGING_RETRY_H_

#include <cstddef>
#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/dependency_outage.h"

namespace herald {

struct RetryPolicy {
  int max_attempts = 5;
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(10);
  double jitter = 0.2;  // +/- this fraction
};

// The pause after failed attempt number `attempt` (1-based).
absl::Duration BackoffFor(const RetryPolicy& policy, int attempt);

// Permanent()
//
// `status` marked as not worth retrying.
absl::Status Permanent(absl::Status status);

// True when Permanent() marked `status`.
bool IsPermanent(const absl::Status& status);

// FailedAt()
//
// From a batch handler: the records before `index` succeeded and record
// `index` failed with `status` (its code, message and marks, such as
// Permanent, are kept). OK `status` stays OK.
absl::Status FailedAt(size_t index, absl::Status status);

// The index FailedAt() put on `status`, if any.
std::optional<size_t> FailedIndex(const absl::Status& status);

}  // namespace herald

#endif  // HERALD_MESSAGING_RETRY_H_
