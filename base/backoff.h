// File: base/backoff.h
//
// Exponential backoff: the wait before try n + 1 after n failures in a row
// doubles from `initial` up to `max`, each wait spread by +/- `jitter` (a
// fraction) so that many waiters do not come back at the same instant. The
// consumer's retries (messaging/retry.h) and the accept loops'
// (web/accept_backoff.h) use it.
//
// Example:
//
//   absl::Duration wait = herald::ExponentialBackoff(
//       absl::Milliseconds(200), absl::Seconds(10), /*jitter=*/0.2, failures);
#ifndef HERALD_BASE_BACKOFF_H_
#define HERALD_BASE_BACKOFF_H_

#include "absl/time/time.h"

namespace herald {

// The wait after failure number `n` (1-based; n <= 1 waits `initial`).
absl::Duration ExponentialBackoff(absl::Duration initial, absl::Duration max,
                                  double jitter, int n);

}  // namespace herald

#endif  // HERALD_BASE_BACKOFF_H_
