#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace herald {
namespace {

TEST(ThreadPoolTest, RunsAtMostSizeTasksAtOnceAndFinishesThemAll) {
  absl::Mutex mu;
  int running = 0, max_running = 0, finished = 0;
  std::set<int> threads_seen;
  {
    ThreadPool pool(3);
    EXPECT_EQ(pool.size(), 3);
    for (int i = 0; i < 9; ++i) {
      pool.Submit([&](int thread) {
        {
          absl::MutexLock lock(&mu);
          max_running = std::max(max_running, ++running);
          threads_seen.insert(thread);
        }
        absl::SleepFor(absl::Milliseconds(30));
        absl::MutexLock lock(&mu);
        --running;
        ++finished;
      });
    }
  }  // the destructor finishes what was submitted
  EXPECT_EQ(finished, 9);
  EXPECT_GT(max_running, 1);
  EXPECT_LE(max_running, 3);
  for (int t : threads_seen) {
    EXPECT_GE(t, 0);
    EXPECT_LT(t, 3);
  }
}

}  // namespace
}  // namespace herald
