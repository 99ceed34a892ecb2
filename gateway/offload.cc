#include "gateway/offload.h"

#include <atomic>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace herald {
namespace gateway {

// One call: answered once, by whichever comes first, its thread or the
// deadline.
struct Call {
  std::function<web::Response()> work;
  std::function<web::Response()> late;
  web::Responder respond;
  absl::Time deadline;
  std::atomic<bool> answered{false};

  void Answer(web::Response response) {
    if (!answered.exchange(true)) respond(std::move(response));
  }
};

class Offload::Impl {
 public:
  Impl(int threads, absl::Duration deadline) : deadline_(deadline) {
    for (int i = 0; i < threads; ++i) {
      workers_.emplace_back([this] { Work(); });
    }
    watchdog_ = std::thread([this] { Watch(); });
  }

  void Run(std::function<web::Response()> work,
           std::function<web::Response()> late, web::Responder respond) {
    auto call = std::make_shared<Call>();
    call->work = std::move(work);
    call->late = std::move(late);
    call->respond = std::move(respond);
    call->deadline = absl::Now() + deadline_;
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      call->Answer(call->late());
      return;
    }
    queue_.push_back(call);
    watched_.push_back(std::move(call));
  }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    for (std::thread& t : workers_) t.join();
    watchdog_.join();
    absl::MutexLock lock(&mu_);
    for (auto& call : watched_) call->Answer(call->late());
    watched_.clear();
    queue_.clear();
  }

 private:
  void Work() {
    while (true) {
      std::shared_ptr<Call> call;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](Impl* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return !self->queue_.empty() || self->stopping_;
            },
            this));
        if (stopping_) return;  // Stop() answers what is queued
        call = std::move(queue_.front());
        queue_.pop_front();
      }
      if (call->answered.load()) continue;  // too late already
      call->Answer(call->work());
    }
  }

  // Answers the calls whose deadline has passed. Deadlines come in the
  // order of the calls, so the oldest are at the front.
  void Watch() {
    absl::MutexLock lock(&mu_);
    while (!stopping_) {
      const absl::Time now = absl::Now();
      while (!watched_.empty() && (watched_.front()->answered.load() ||
                                   watched_.front()->deadline <= now)) {
        std::shared_ptr<Call> call = std::move(watched_.front());
        watched_.pop_front();
        if (!call->answered.load()) call->Answer(call->late());
      }
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](Impl* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                 return self->stopping_;
                               },
                               this),
                           absl::Milliseconds(20));
    }
  }

  const absl::Duration deadline_;
  absl::Mutex mu_;
  std::deque<std::shared_ptr<Call>> queue_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<Call>> watched_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
  std::thread watchdog_;
};

Offload::Offload(int threads, absl::Duration deadline)
    : impl_(std::make_unique<Impl>(threads, deadline)) {}
Offload::~Offload() { Stop(); }

void Offload::Run(std::function<web::Response()> work,
                  std::function<web::Response()> late, web::Responder respond) {
  impl_->Run(std::move(work), std::move(late), std::move(respond));
}

void Offload::Stop() { impl_->Stop(); }

}  // namespace gateway
}  // namespace herald
