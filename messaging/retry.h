// File: messaging/retry.h
//
// How a consumer retries a failing handler: exponential backoff with jitter,
// a bounded number of attempts, and errors a handler marks Permanent() to
// skip the retries (they go straight to the dead-letter topic).
//
// Example:
//
//   if (!IsValid(event)) {
//     return herald::Permanent(absl::InvalidArgumentError("no such user"));
//   }
#ifndef HERALD_MESSAGING_RETRY_H_
#define HERALD_MESSAGING_RETRY_H_

#include "absl/status/status.h"
#include "absl/time/time.h"

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

}  // namespace herald

#endif  // HERALD_MESSAGING_RETRY_H_
