#include "gateway/auth/token_bucket.h"

#include <algorithm>

namespace herald {
namespace gateway {
namespace auth {

TokenBucket::TokenBucket(double per_second, double burst)
    : per_second_(per_second), burst_(std::max(1.0, burst)), tokens_(burst_) {}

absl::Duration TokenBucket::Take(absl::Time now) {
  if (per_second_ <= 0) return absl::ZeroDuration();
  absl::MutexLock lock(&mu_);
  if (filled_at_ != absl::InfinitePast() && now > filled_at_) {
    tokens_ =
        std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - filled_at_) *
                                       per_second_);
  }
  filled_at_ = std::max(filled_at_, now);
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return absl::ZeroDuration();
  }
  return absl::Seconds((1.0 - tokens_) / per_second_);
}

}  // namespace auth
}  // namespace gateway
}  // namespace herald
