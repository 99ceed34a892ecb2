// File: gateway/auth/token_bucket.h
//
// A token bucket: `per_second` tokens a second, at most `burst` saved up.
// Each request takes one; with none left, the answer says how long until
// the next. Thread-safe. The clock is passed in, so tests need no sleeps.
//
// Example:
//
//   herald::gateway::auth::TokenBucket bucket(100, 200);
//   absl::Duration wait = bucket.Take(absl::Now());
//   if (wait > absl::ZeroDuration()) { /* 429, Retry-After: wait */ }
#ifndef HERALD_GATEWAY_AUTH_TOKEN_BUCKET_H_
#define HERALD_GATEWAY_AUTH_TOKEN_BUCKET_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace herald {
namespace gateway {
namespace auth {

class TokenBucket {
 public:
  // Starts full. `per_second` <= 0: no limit.
  TokenBucket(double per_second, double burst);

  // Takes a token at `now`: ZeroDuration when there was one, otherwise how
  // long until one will be there (and none is taken).
  absl::Duration Take(absl::Time now);

 private:
  const double per_second_;
  const double burst_;
  absl::Mutex mu_;
  double tokens_ ABSL_GUARDED_BY(mu_);
  absl::Time filled_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace auth
}  // namespace gateway
}  // namespace herald

#endif  // HERALD_GATEWAY_AUTH_TOKEN_BUCKET_H_
