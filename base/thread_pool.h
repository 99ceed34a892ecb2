// File: base/thread_pool.h
//
// A fixed pool of threads running tasks in submission order; the
// destructor finishes the tasks already submitted, then joins. Each task is
// told which of the pool's threads runs it (0..size-1), for per-thread
// scratch state. Used by the consumer for handlers (consumer.concurrency)
// and by the realtime worker for replays.
//
// Example:
//
//   ThreadPool pool(4);
//   pool.Submit([&](int thread) { Handle(*unit, scratch[thread]); });
#ifndef HERALD_BASE_THREAD_POOL_H_
#define HERALD_BASE_THREAD_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace herald {

class ThreadPool {
 public:
  using Task = std::function<void(int thread)>;  // thread: 0..size-1

  explicit ThreadPool(int threads);
  ~ThreadPool();

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(Task task);
  int size() const { return static_cast<int>(threads_.size()); }

 private:
  void Loop(int thread);

  absl::Mutex mu_;
  std::deque<Task> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace herald

#endif  // HERALD_BASE_THREAD_POOL_H_
