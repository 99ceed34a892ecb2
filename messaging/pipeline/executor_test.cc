#include "messaging/pipeline/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace herald {
namespace pipeline {
namespace {

TEST(ExecutorTest, TasksRunInParallelAndComeBackThroughCompletions) {
  std::atomic<int> wakes{0};
  Completions<int> done([&] { ++wakes; });
  absl::Mutex mu;
  int running = 0, max_running = 0;
  std::set<int> threads_seen;
  {
    ThreadPool threads(4);
    for (int i = 0; i < 8; ++i) {
      threads.Submit([&, i](int thread) {
        {
          absl::MutexLock lock(&mu);
          max_running = std::max(max_running, ++running);
          threads_seen.insert(thread);
        }
        absl::SleepFor(absl::Milliseconds(50));
        {
          absl::MutexLock lock(&mu);
          --running;
        }
        done.Push(i);
      });
    }
  }  // the destructor finishes what was submitted
  std::vector<int> finished;
  done.TakeAll(&finished);
  EXPECT_EQ(finished.size(), 8u);
  EXPECT_EQ(wakes.load(), 8);
  EXPECT_GT(max_running, 1);
  EXPECT_LE(max_running, 4);
  for (int t : threads_seen) {
    EXPECT_GE(t, 0);
    EXPECT_LT(t, 4);
  }
  EXPECT_TRUE(done.empty());
}

TEST(ExecutorTest, WaitUntilReturnsWhenSomethingArrivesOrAtTheDeadline) {
  Completions<int> done(nullptr);
  absl::Time start = absl::Now();
  done.WaitUntil(start + absl::Milliseconds(50));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
  ThreadPool threads(1);
  threads.Submit([&](int) { done.Push(7); });
  done.WaitUntil(absl::InfiniteFuture());
  std::vector<int> out;
  done.TakeAll(&out);
  EXPECT_EQ(out, std::vector<int>{7});
}

}  // namespace
}  // namespace pipeline
}  // namespace herald
