#include "messaging/pipeline/offset_tracker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

namespace herald {
namespace pipeline {
namespace {

TEST(OffsetTrackerTest, CommitsOnlyTheContiguousSettledPrefix) {
  OffsetTracker tracker;
  for (int64_t o = 10; o <= 13; ++o) tracker.Add(o);
  EXPECT_EQ(tracker.TakeCommittable(), std::nullopt);
  tracker.Settle(11);
  tracker.Settle(12);
  EXPECT_EQ(tracker.TakeCommittable(), std::nullopt);  // 10 is unsettled
  EXPECT_EQ(tracker.committable(), -1);
  EXPECT_EQ(tracker.unsettled(), 2u);
  tracker.Settle(10);
  EXPECT_EQ(tracker.TakeCommittable(), 13);
  EXPECT_EQ(tracker.TakeCommittable(), std::nullopt);  // did not move
  EXPECT_EQ(tracker.held(), 1u);
  tracker.Settle(13);
  EXPECT_EQ(tracker.TakeCommittable(), 14);
  EXPECT_EQ(tracker.held(), 0u);
}

TEST(OffsetTrackerTest, FollowsGapsInOffsets) {
  OffsetTracker tracker;
  tracker.Add(5);
  tracker.Add(9);  // 6..8: transaction markers or compacted away
  tracker.Settle(9);
  EXPECT_EQ(tracker.TakeCommittable(), std::nullopt);
  tracker.Settle(5);
  EXPECT_EQ(tracker.TakeCommittable(), 10);
}

TEST(OffsetTrackerTest, UnknownAndRepeatedSettlesChangeNothing) {
  OffsetTracker tracker;
  tracker.Add(1);
  tracker.Add(3);
  tracker.Settle(2);  // never added
  tracker.Settle(3);
  tracker.Settle(3);
  EXPECT_EQ(tracker.unsettled(), 1u);
  EXPECT_EQ(tracker.TakeCommittable(), std::nullopt);
  tracker.Settle(1);
  EXPECT_EQ(tracker.TakeCommittable(), 4);
  tracker.Settle(1);  // already committable
  EXPECT_EQ(tracker.TakeCommittable(), std::nullopt);
}

// Settles records in a random order and checks, after each step, that the
// committable offset is exactly the end of the settled prefix.
TEST(OffsetTrackerTest, RandomOrdersNeverCommitPastAnUnsettledRecord) {
  for (unsigned seed = 1; seed <= 200; ++seed) {
    std::mt19937 rng(seed);
    std::vector<int64_t> offsets;
    int64_t o = 100;
    for (int i = 0; i < 50; ++i) {
      o += 1 + static_cast<int64_t>(rng() % 3);
      offsets.push_back(o);
    }
    OffsetTracker tracker;
    for (int64_t offset : offsets) tracker.Add(offset);
    std::vector<int64_t> order = offsets;
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<bool> settled(offsets.size(), false);
    for (int64_t offset : order) {
      tracker.Settle(offset);
      settled[std::find(offsets.begin(), offsets.end(), offset) -
              offsets.begin()] = true;
      size_t prefix = 0;
      while (prefix < offsets.size() && settled[prefix]) ++prefix;
      int64_t expected = prefix == 0 ? -1 : offsets[prefix - 1] + 1;
      ASSERT_EQ(tracker.committable(), expected) << "seed " << seed;
    }
    EXPECT_EQ(tracker.held(), 0u) << "seed " << seed;
  }
}

}  // namespace
}  // namespace pipeline
}  // namespace herald
