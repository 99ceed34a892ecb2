// File: messaging/pipeline/dependency_watch.h
//
// The DependencyWatch keeps track of what the consumer waits for when a
// dependency is down (see base/dependency_outage.h). When a route's handler
// meets an outage, the route is held back in the dispatcher (one probe
// after a backoff that grows with each outage in a row), its partitions
// that hold records stop fetching, and its waiting gauge reads 1, until a
// probe gets an answer. A dead-letter topic that refuses copies is watched
// the same way. Health() sums it up for Consumer::Health().
//
// Polling thread only, except Health().
//
// Example:
//
//   absl::Time again = watch.RouteDown(route, status, now);  // outage
//   ...
//   watch.RouteAnswered(route);  // a probe got through
#ifndef HERALD_MESSAGING_PIPELINE_DEPENDENCY_WATCH_H_
#define HERALD_MESSAGING_PIPELINE_DEPENDENCY_WATCH_H_

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "messaging/pipeline/assignment.h"
#include "messaging/pipeline/dispatcher.h"
#include "messaging/retry.h"
#include "metrics/registry.h"

namespace herald {
namespace pipeline {

class DependencyWatch {
 public:
  // What the consumer waits for, if anything.
  struct Waiting {
    bool waiting = false;
    std::string error;  // the latest error of the oldest wait
    absl::Time since = absl::InfinitePast();
  };

  DependencyWatch(Dispatcher& dispatcher, Assignment& assignment,
                  RetryPolicy backoff);

  // Route `route` handles `topic`; `waiting` (may be null) is its gauge.
  void AddRoute(int route, std::string topic, metrics::Gauge* waiting);

  // RouteDown()
  //
  // A unit of `route` met an outage (`error`): returns when its records may
  // run again.
  absl::Time RouteDown(int route, const absl::Status& error, absl::Time now);

  // RouteAnswered()
  //
  // A unit of `route` got an answer that is not an outage: the route goes on
  // at full speed. With `handler_called` false (the unit held no record the
  // handler could be given) a held route just sends its next probe.
  void RouteAnswered(int route, bool handler_called, absl::Time now);

  // DeadLetterRefused()
  //
  // The dead-letter topic `topic` refused a record's copy; `first` when it
  // is that record's first refusal. The consumer waits for the topic while
  // any record refused is neither taken (DeadLetterTaken) nor given up (its
  // partition revoked: DeadLetterGivenUp).
  void DeadLetterRefused(const std::string& topic, const absl::Status& error,
                         bool first);
  void DeadLetterTaken(const std::string& topic);
  void DeadLetterGivenUp(const std::string& topic);

  // Safe from any thread.
  Waiting Health() const;

 private:
  struct RouteWait {
    std::string topic;
    metrics::Gauge* gauge = nullptr;
    int outages = 0;  // in a row
    absl::Time since;
  };
  void SetWaiting(const std::string& what, std::string error);
  void ClearWaiting(const std::string& what);

  Dispatcher& dispatcher_;
  Assignment& assignment_;
  const RetryPolicy backoff_;
  std::vector<RouteWait> routes_;
  std::map<std::string, int> dead_letters_waiting_;  // by topic
  mutable absl::Mutex mu_;
  std::map<std::string, Waiting> waiting_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pipeline
}  // namespace herald

#endif  // HERALD_MESSAGING_PIPELINE_DEPENDENCY_WATCH_H_
