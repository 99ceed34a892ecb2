#include "gateway/auth/token_bucket.h"

#include <gtest/gtest.h>

namespace herald {
namespace gateway {
namespace auth {
namespace {

TEST(TokenBucketTest, BurstThenRefusedUntilRefilled) {
  TokenBucket bucket(/*per_second=*/10, /*burst=*/3);
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bucket.Take(t0), absl::ZeroDuration());
  // Empty: the next token is 1/10 s away.
  EXPECT_EQ(bucket.Take(t0), absl::Milliseconds(100));
  EXPECT_EQ(bucket.Take(t0 + absl::Milliseconds(60)), absl::Milliseconds(40));
  EXPECT_EQ(bucket.Take(t0 + absl::Milliseconds(100)), absl::ZeroDuration());
  // A long pause refills it to the burst, not beyond.
  const absl::Time later = t0 + absl::Hours(1);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(bucket.Take(later), absl::ZeroDuration());
  }
  EXPECT_GT(bucket.Take(later), absl::ZeroDuration());
}

TEST(TokenBucketTest, ZeroRateIsNoLimit) {
  TokenBucket bucket(0, 1);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(bucket.Take(absl::UnixEpoch()), absl::ZeroDuration());
  }
}

}  // namespace
}  // namespace auth
}  // namespace gateway
}  // namespace herald
