// File: messaging/pipeline/dispatcher.h
//
// The Dispatcher decides which fetched records may run now, and which run
// together. It sorts records into lanes by the consumer's ordering:
//
//   Ordering::kPartition   one lane per partition
//   Ordering::kKey         one lane per key of a partition
//   Ordering::kUnordered   one lane per record
//
// A lane runs one unit at a time and in offset order, and a record leaves its
// lane only when it is settled: a later record of a lane never overtakes one
// that is running, waiting for a retry, or being dead-lettered. Different
// lanes run in parallel, as far as the caller has threads.
//
// A unit is one record for a single-record route. For a batch route it is
// up to `max_size` records taken from the heads of ready lanes (several from
// one lane, in order), handed over as soon as `max_size` are ready, or as
// soon as nothing more is coming for the route (the caller says so with
// SetMoreComing(); false by default): what is ready then goes at once, like
// Kafka's poll returning what is there. Only while more records are known
// to be coming does a partial batch wait for them, and then at most
// `max_wait` after the oldest of them became ready. A record may cap the
// size of any unit that holds it (`Held::batch_limit`): that is how the
// retrier splits a failing batch to find the record at fault.
//
// The dispatcher is plain bookkeeping: no threads, no clock of its own, no
// Kafka. The consumer's polling thread owns it.
//
// Example:
//
//   Dispatcher dispatcher(Ordering::kKey, {RouteShape{}});
//   int p = dispatcher.AddPartition(/*route=*/0);
//   dispatcher.Add(p, 10, "user-1", record_10, now);
//   dispatcher.Add(p, 11, "user-1", record_11, now);  // waits for 10
//   dispatcher.Add(p, 12, "user-2", record_12, now);  // may run beside 10
//   std::vector<Held*> unit;
//   while (dispatcher.Next(now, &unit)) Run(unit);     // 10, then 12
//   ...
//   dispatcher.Done(held_10);                          // 11 may run now
#ifndef HERALD_MESSAGING_PIPELINE_DISPATCHER_H_
#define HERALD_MESSAGING_PIPELINE_DISPATCHER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "messaging/config.h"

namespace herald {
namespace pipeline {

struct Lane;

// A fetched record, held from fetch until it is settled.
struct Held {
  int partition = -1;  // the dispatcher's partition id
  int64_t offset = -1;
  void* record = nullptr;   // the caller's record, opaque here
  void* context = nullptr;  // the caller's, e.g. the record's partition
  // Failed attempts counted against this record (see Retrier).
  int attempts = 0;
  // Most records a unit holding this record may have.
  int batch_limit = std::numeric_limits<int>::max();
  // Not before this time may it run (a retry's backoff).
  absl::Time not_before = absl::InfinitePast();
  // When it was fetched: a partial batch waiting for more records goes
  // `max_wait` after that at the latest.
  absl::Time arrived;
  // Set by the retrier: the record is to be dead-lettered with this reason
  // (its handler is not called again).
  bool dead_letter = false;
  absl::Status failure;
  // Outages in a row this record met (a dead-letter publish that failed).
  int outages = 0;
  bool running = false;
  bool settled = false;
  Lane* lane = nullptr;
};

// How a route (a topic's handler) takes its records.
struct RouteShape {
  bool batch = false;  // false: one record per unit
  int max_size = 1;
  absl::Duration max_wait = absl::ZeroDuration();
};

class Dispatcher {
 public:
  Dispatcher(Ordering ordering, std::vector<RouteShape> routes);
  ~Dispatcher();

  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // AddPartition()
  //
  // A partition newly assigned to `route`; returns its id (never reused).
  int AddPartition(int route);

  // RemovePartition()
  //
  // Forgets a revoked partition: each of its records that is not running is
  // passed to `drop` and forgotten now; running ones stay until Done().
  void RemovePartition(int partition, const std::function<void(Held*)>& drop);

  // Add()
  //
  // A record fetched at `offset` of `partition`, with its `key`. The
  // returned Held lives until Done() is called for it.
  Held* Add(int partition, int64_t offset, absl::string_view key, void* record,
            absl::Time now);

  // AddRunning()
  //
  // Add() for a record the caller already ran, outside Next(), because its
  // partition held nothing: it joins its lane as running (as if Next() had
  // handed it over), and gets Done or Retry like any other.
  Held* AddRunning(int partition, int64_t offset, absl::string_view key,
                   void* record, absl::Time now);

  // Next()
  //
  // Fills `unit` with the next records to run together and marks them
  // running; false when nothing may run at `now`.
  bool Next(absl::Time now, std::vector<Held*>* unit);

  // SetMoreComing()
  //
  // Whether more records of `route` are known to be on their way (fetched
  // by the client and not yet Add()ed, or on the broker past what was
  // fetched). While true, a partial batch of `route` waits for them, up to
  // `max_wait` after its oldest record; while false, it goes at once.
  void SetMoreComing(int route, bool more_coming);

  // The earliest time at which Next() may find work by the clock alone (a
  // backoff or a batch's wait ending): `now` or earlier when it has work at
  // once, InfiniteFuture when nothing is waiting.
  absl::Time NextDeadline(absl::Time now);

  // After a unit ran, each of its records gets Done or Retry; a record
  // being dead-lettered stays running until one of them.
  //
  // Done(): settled (or given up, for a revoked partition). Frees `held`.
  void Done(Held* held, absl::Time now);
  // Retry(): runs again, ahead of the later records of its lane, not before
  // `not_before`.
  void Retry(Held* held, absl::Time not_before, absl::Time now);

  // Hold()
  //
  // `route` starts nothing before `until`; then one unit (a probe) until
  // Release() or another Hold().
  void Hold(int route, absl::Time until);
  void Release(int route);
  bool held_back(int route) const;

  // Clear()
  //
  // Forgets every record, running or not, passing each to `drop` (for the
  // consumer's last moments, when no answer can come back any more).
  void Clear(const std::function<void(Held*)>& drop);

  // Records running now (including those being dead-lettered).
  size_t running() const { return running_; }
  // Records held (added and not done).
  size_t size() const { return size_; }

 private:
  friend struct Lane;
  struct Partition;
  struct Route;
  struct Timer {
    absl::Time at;
    Lane* lane;
    uint64_t generation;
    bool operator<(const Timer& other) const { return at > other.at; }
  };

  Lane* LaneFor(Partition& partition, int64_t offset, absl::string_view key);
  Held* Insert(int partition, int64_t offset, absl::string_view key,
               void* record, absl::Time now, bool running);
  // Puts `lane` where its head says: ready, waiting for a timer, or neither.
  void Refresh(Lane* lane, absl::Time now, bool urgent);
  void MakeReady(Lane* lane, absl::Time now, bool urgent);
  int QueuedRun(const Lane& lane, absl::Time now) const;
  void FireTimers(absl::Time now);
  // A partial batch of `route` waits for the records on their way.
  static bool WaitsToFill(const Route& route);
  bool TakeFrom(Route& route, absl::Time now, std::vector<Held*>* unit);
  void MaybeErase(Lane* lane);

  const Ordering ordering_;
  std::vector<std::unique_ptr<Route>> routes_;
  absl::flat_hash_map<int, std::unique_ptr<Partition>> partitions_;
  std::priority_queue<Timer> timers_;
  int next_partition_ = 0;
  int last_added_id_ = -1;  // Add()'s cache
  Partition* last_added_ = nullptr;
  size_t next_route_ = 0;  // round robin
  size_t running_ = 0;
  size_t size_ = 0;
};

}  // namespace pipeline
}  // namespace herald

#endif  // HERALD_MESSAGING_PIPELINE_DISPATCHER_H_
