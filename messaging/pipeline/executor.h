// File: messaging/pipeline/executor.h
//
// Where handlers run. With consumer.concurrency = 1 the polling thread runs
// each unit itself, as soon as it is dispatched: no hand-off, no locks, the
// cheapest path. With more, a ThreadPool (base/thread_pool.h) runs units on
// that many threads, and each finished unit comes back to the polling thread
// through a `Completions` queue, which wakes the poll.
//
// Example:
//
//   Completions<Unit*> done([&] { reader.Wake(); });
//   ThreadPool threads(16);
//   threads.Submit([&, unit](int thread) {
//     Run(*unit, scratch[thread]);
//     done.Push(unit);
//   });
//   ...
//   std::vector<Unit*> finished;
//   done.TakeAll(&finished);  // on the polling thread
#ifndef HERALD_MESSAGING_PIPELINE_EXECUTOR_H_
#define HERALD_MESSAGING_PIPELINE_EXECUTOR_H_

#include <functional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/thread_pool.h"

namespace herald {
namespace pipeline {

// Results handed from any thread to the polling thread.
template <typename T>
class Completions {
 public:
  // `wake` runs after each Push, outside the lock (e.g. Reader::Wake).
  explicit Completions(std::function<void()> wake) : wake_(std::move(wake)) {}

  void Push(T item) {
    {
      absl::MutexLock lock(&mu_);
      items_.push_back(std::move(item));
    }
    if (wake_) wake_();
  }

  // Moves every item pushed so far into `out` (after what it holds).
  void TakeAll(std::vector<T>* out) {
    absl::MutexLock lock(&mu_);
    for (T& item : items_) out->push_back(std::move(item));
    items_.clear();
  }

  bool empty() const {
    absl::MutexLock lock(&mu_);
    return items_.empty();
  }

  // Waits until an item is there or `deadline` passes.
  void WaitUntil(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto has_items = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !items_.empty();
    };
    mu_.AwaitWithDeadline(absl::Condition(&has_items), deadline);
  }

 private:
  std::function<void()> wake_;
  mutable absl::Mutex mu_;
  std::vector<T> items_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pipeline
}  // namespace herald

#endif  // HERALD_MESSAGING_PIPELINE_EXECUTOR_H_
