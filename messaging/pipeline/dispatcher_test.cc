#include "messaging/pipeline/dispatcher.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"

namespace herald {
namespace pipeline {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1000);

std::vector<int64_t> Offsets(const std::vector<Held*>& unit) {
  std::vector<int64_t> out;
  for (const Held* h : unit) out.push_back(h->offset);
  return out;
}

// Every unit that may run at `now`, one after the other.
std::vector<std::vector<int64_t>> Drain(Dispatcher& d, absl::Time now,
                                        std::vector<Held*>* running) {
  std::vector<std::vector<int64_t>> units;
  std::vector<Held*> unit;
  while (d.Next(now, &unit)) {
    units.push_back(Offsets(unit));
    running->insert(running->end(), unit.begin(), unit.end());
  }
  return units;
}

TEST(DispatcherTest, PartitionOrderingRunsOneRecordPerPartitionAtATime) {
  Dispatcher d(Ordering::kPartition, {RouteShape{}});
  int p0 = d.AddPartition(0), p1 = d.AddPartition(0);
  d.Add(p0, 10, "a", nullptr, kT0);
  d.Add(p0, 11, "b", nullptr, kT0);
  d.Add(p1, 20, "a", nullptr, kT0);
  std::vector<Held*> running;
  auto units = Drain(d, kT0, &running);
  EXPECT_EQ(units, (std::vector<std::vector<int64_t>>{{10}, {20}}));
  d.Done(running[0], kT0);  // 10 settles: 11 may go
  running.clear();
  EXPECT_EQ(Drain(d, kT0, &running), (std::vector<std::vector<int64_t>>{{11}}));
}

TEST(DispatcherTest, KeyOrderingRunsKeysOfOnePartitionInParallel) {
  Dispatcher d(Ordering::kKey, {RouteShape{}});
  int p = d.AddPartition(0);
  d.Add(p, 1, "a", nullptr, kT0);
  d.Add(p, 2, "a", nullptr, kT0);
  d.Add(p, 3, "b", nullptr, kT0);
  d.Add(p, 4, "c", nullptr, kT0);
  std::vector<Held*> running;
  EXPECT_EQ(Drain(d, kT0, &running),
            (std::vector<std::vector<int64_t>>{{1}, {3}, {4}}));
  EXPECT_EQ(d.running(), 3u);
  d.Done(running[1], kT0);  // b's record: nothing new may run
  std::vector<Held*> more;
  EXPECT_TRUE(Drain(d, kT0, &more).empty());
  d.Done(running[0], kT0);  // a's first: a's second may run
  EXPECT_EQ(Drain(d, kT0, &more), (std::vector<std::vector<int64_t>>{{2}}));
}

TEST(DispatcherTest, UnorderedRunsEverythingAtOnce) {
  Dispatcher d(Ordering::kUnordered, {RouteShape{}});
  int p = d.AddPartition(0);
  for (int64_t o = 0; o < 4; ++o) d.Add(p, o, "same", nullptr, kT0);
  std::vector<Held*> running;
  EXPECT_EQ(Drain(d, kT0, &running).size(), 4u);
}

TEST(DispatcherTest, ARetryHoldsItsLaneUntilItsBackoffEnds) {
  Dispatcher d(Ordering::kKey, {RouteShape{}});
  int p = d.AddPartition(0);
  d.Add(p, 1, "a", nullptr, kT0);
  d.Add(p, 2, "a", nullptr, kT0);
  d.Add(p, 3, "b", nullptr, kT0);
  std::vector<Held*> running;
  Drain(d, kT0, &running);  // 1 and 3
  const absl::Time later = kT0 + absl::Seconds(2);
  d.Retry(running[0], later, kT0);
  d.Done(running[1], kT0);
  std::vector<Held*> more;
  EXPECT_TRUE(Drain(d, kT0 + absl::Seconds(1), &more).empty());
  EXPECT_EQ(d.NextDeadline(kT0), later);
  // At `later` the retried record runs again, still before 2.
  EXPECT_EQ(Drain(d, later, &more), (std::vector<std::vector<int64_t>>{{1}}));
  d.Done(more[0], later);
  more.clear();
  EXPECT_EQ(Drain(d, later, &more), (std::vector<std::vector<int64_t>>{{2}}));
}

TEST(DispatcherTest, APartialBatchGoesAtOnceWhenNothingMoreIsComing) {
  RouteShape shape;
  shape.batch = true;
  shape.max_size = 3;
  shape.max_wait = absl::Hours(1);
  Dispatcher d(Ordering::kPartition, {shape});
  int p = d.AddPartition(0);
  d.Add(p, 1, "", nullptr, kT0);
  std::vector<Held*> running;
  EXPECT_EQ(d.NextDeadline(kT0), kT0);
  EXPECT_EQ(Drain(d, kT0, &running), (std::vector<std::vector<int64_t>>{{1}}));
  // More on its way: the next partial batch waits, until the caller says
  // nothing more is coming.
  d.SetMoreComing(0, true);
  d.Add(p, 2, "", nullptr, kT0);
  d.Add(p, 3, "", nullptr, kT0);
  d.Done(running[0], kT0);
  running.clear();
  EXPECT_TRUE(Drain(d, kT0 + absl::Minutes(1), &running).empty());
  d.SetMoreComing(0, false);
  EXPECT_EQ(Drain(d, kT0 + absl::Minutes(1), &running),
            (std::vector<std::vector<int64_t>>{{2, 3}}));
}

TEST(DispatcherTest, WhileMoreIsComingBatchesGoWhenFullOrAfterTheirWait) {
  RouteShape shape;
  shape.batch = true;
  shape.max_size = 3;
  shape.max_wait = absl::Milliseconds(50);
  Dispatcher d(Ordering::kPartition, {shape});
  d.SetMoreComing(0, true);
  int p0 = d.AddPartition(0), p1 = d.AddPartition(0);
  d.Add(p0, 1, "", nullptr, kT0);
  d.Add(p0, 2, "", nullptr, kT0 + absl::Milliseconds(10));
  std::vector<Held*> running;
  EXPECT_TRUE(Drain(d, kT0 + absl::Milliseconds(20), &running).empty());
  EXPECT_EQ(d.NextDeadline(kT0 + absl::Milliseconds(20)),
            kT0 + absl::Milliseconds(50));
  d.Add(p1, 7, "", nullptr, kT0 + absl::Milliseconds(30));  // now full
  EXPECT_EQ(Drain(d, kT0 + absl::Milliseconds(30), &running),
            (std::vector<std::vector<int64_t>>{{1, 2, 7}}));
  for (Held* h : running) d.Done(h, kT0);
  running.clear();
  d.Add(p0, 3, "", nullptr, kT0 + absl::Milliseconds(100));
  EXPECT_TRUE(Drain(d, kT0 + absl::Milliseconds(149), &running).empty());
  EXPECT_EQ(Drain(d, kT0 + absl::Milliseconds(150), &running),
            (std::vector<std::vector<int64_t>>{{3}}));
}

TEST(DispatcherTest, BatchLimitSplitsTheNextUnitsAndRequeuedRecordsGoAtOnce) {
  RouteShape shape;
  shape.batch = true;
  shape.max_size = 8;
  shape.max_wait = absl::Hours(1);
  Dispatcher d(Ordering::kPartition, {shape});
  int p = d.AddPartition(0);
  for (int64_t o = 0; o < 8; ++o) d.Add(p, o, "", nullptr, kT0);
  std::vector<Held*> running;
  ASSERT_EQ(Drain(d, kT0, &running).size(), 1u);
  // The batch failed as a whole: each record may be in a unit of 4 at most,
  // and goes again at once (no batch wait).
  for (Held* h : running) {
    h->batch_limit = 4;
    d.Retry(h, kT0, kT0);
  }
  std::vector<Held*> halves;
  EXPECT_EQ(Drain(d, kT0, &halves),
            (std::vector<std::vector<int64_t>>{{0, 1, 2, 3}}));
}

TEST(DispatcherTest, RemovingAPartitionDropsWhatIsNotRunning) {
  Dispatcher d(Ordering::kKey, {RouteShape{}});
  int p = d.AddPartition(0);
  d.Add(p, 1, "a", nullptr, kT0);
  d.Add(p, 2, "a", nullptr, kT0);
  d.Add(p, 3, "b", nullptr, kT0);
  std::vector<Held*> running;
  std::vector<Held*> unit;
  ASSERT_TRUE(d.Next(kT0, &unit));  // 1 runs
  d.Retry(running.emplace_back(unit[0]), kT0 + absl::Hours(1), kT0);
  ASSERT_TRUE(d.Next(kT0, &unit));  // 3 runs
  std::set<int64_t> dropped;
  d.RemovePartition(p, [&](Held* h) { dropped.insert(h->offset); });
  EXPECT_EQ(dropped, (std::set<int64_t>{1, 2}));
  EXPECT_EQ(d.size(), 1u);
  EXPECT_EQ(d.NextDeadline(kT0), absl::InfiniteFuture());
  d.Done(unit[0], kT0);
  EXPECT_EQ(d.size(), 0u);
  EXPECT_EQ(d.running(), 0u);
}

TEST(DispatcherTest, AHeldRouteSendsOneProbeAfterItsHold) {
  Dispatcher d(Ordering::kKey, {RouteShape{}});
  int p = d.AddPartition(0);
  d.Add(p, 1, "a", nullptr, kT0);
  d.Add(p, 2, "b", nullptr, kT0);
  d.Hold(0, kT0 + absl::Seconds(1));
  std::vector<Held*> unit;
  EXPECT_FALSE(d.Next(kT0, &unit));
  EXPECT_EQ(d.NextDeadline(kT0), kT0 + absl::Seconds(1));
  ASSERT_TRUE(d.Next(kT0 + absl::Seconds(1), &unit));  // the probe
  Held* probe = unit[0];
  EXPECT_FALSE(d.Next(kT0 + absl::Seconds(1), &unit));
  d.Release(0);
  d.Done(probe, kT0 + absl::Seconds(1));
  EXPECT_TRUE(d.Next(kT0 + absl::Seconds(1), &unit));
}

// Random outcomes (done, retried later, left running) against the
// invariants: a lane runs one unit at a time, finishes its records in offset
// order, and every record is eventually done.
TEST(DispatcherTest, RandomizedOutcomesKeepLaneOrder) {
  for (Ordering ordering : {Ordering::kPartition, Ordering::kKey}) {
    for (bool batch : {false, true}) {
      for (unsigned seed = 1; seed <= 30; ++seed) {
        SCOPED_TRACE(absl::StrCat("seed ", seed, " batch ", batch, " ordering ",
                                  static_cast<int>(ordering)));
        std::mt19937 rng(seed);
        RouteShape shape;
        shape.batch = batch;
        shape.max_size = 5;
        shape.max_wait = absl::Milliseconds(5);
        Dispatcher d(ordering, {shape, shape});
        std::vector<int> partitions = {d.AddPartition(0), d.AddPartition(0),
                                       d.AddPartition(1)};
        using LaneId = std::pair<int, std::string>;
        std::map<Held*, LaneId> lane_of;
        std::map<LaneId, std::vector<int64_t>> expected, done_order;
        std::map<LaneId, std::vector<Held*>> running;  // in offset order
        std::map<LaneId, int> unit_of;
        absl::Time now = kT0;
        int64_t next_offset = 0;
        int added = 0, done = 0, unit_id = 0;
        for (int step = 0; step < 5000 && (added < 300 || done < added);
             ++step) {
          now += absl::Milliseconds(1);
          if (added < 300 && rng() % 2 == 0) {
            int p = partitions[rng() % partitions.size()];
            std::string key = absl::StrCat("k", rng() % 4);
            Held* h = d.Add(p, next_offset, key, nullptr, now);
            LaneId lane{p, ordering == Ordering::kKey ? key : ""};
            lane_of[h] = lane;
            expected[lane].push_back(next_offset++);
            ++added;
          }
          // Whether more records are coming changes how batches form, not
          // the order.
          d.SetMoreComing(rng() % 2, rng() % 2 == 0);
          std::vector<Held*> unit;
          while (d.Next(now, &unit)) {
            ++unit_id;
            for (Held* h : unit) {
              const LaneId& lane = lane_of.at(h);
              if (!running[lane].empty()) {
                ASSERT_EQ(unit_of[lane], unit_id) << "two units in a lane";
              }
              unit_of[lane] = unit_id;
              running[lane].push_back(h);
            }
          }
          for (auto& [lane, records] : running) {
            if (records.empty() || rng() % 10 < 3) continue;
            size_t k = rng() % (records.size() + 1);
            for (size_t i = 0; i < k; ++i) {
              done_order[lane].push_back(records[i]->offset);
              lane_of.erase(records[i]);
              d.Done(records[i], now);
              ++done;
            }
            records.erase(records.begin(), records.begin() + k);
            if (!records.empty() && rng() % 2 == 0) {
              d.Retry(records[0], now + absl::Milliseconds(rng() % 20), now);
              for (size_t i = 1; i < records.size(); ++i) {
                d.Retry(records[i], now, now);
              }
              records.clear();
            }
          }
        }
        EXPECT_EQ(done, added);
        EXPECT_EQ(done_order, expected);
        EXPECT_EQ(d.size(), 0u);
        EXPECT_EQ(d.running(), 0u);
      }
    }
  }
}

}  // namespace
}  // namespace pipeline
}  // namespace herald
