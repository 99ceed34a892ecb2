#include "base/backoff.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

TEST(BackoffTest, DoublesUpToTheCap) {
  const absl::Duration first = absl::Milliseconds(5), max = absl::Seconds(1);
  EXPECT_EQ(ExponentialBackoff(first, max, 0, 0), first);
  EXPECT_EQ(ExponentialBackoff(first, max, 0, 1), first);
  EXPECT_EQ(ExponentialBackoff(first, max, 0, 2), absl::Milliseconds(10));
  EXPECT_EQ(ExponentialBackoff(first, max, 0, 8), absl::Milliseconds(640));
  EXPECT_EQ(ExponentialBackoff(first, max, 0, 9), max);
  EXPECT_EQ(ExponentialBackoff(first, max, 0, 1000), max);
}

TEST(BackoffTest, JitterStaysWithinItsFraction) {
  for (int i = 0; i < 100; ++i) {
    absl::Duration d =
        ExponentialBackoff(absl::Milliseconds(100), absl::Seconds(10), 0.2, 3);
    EXPECT_GE(d, absl::Milliseconds(320));
    EXPECT_LE(d, absl::Milliseconds(480));
  }
}

}  // namespace
}  // namespace herald
