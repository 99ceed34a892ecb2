// File: messaging/pipeline/assignment.h
//
// The Assignment is what this member holds of the group's partitions: for
// each one, from the rebalance that assigns it until its last record is
// settled or dropped after it was revoked, its offset tracker, whether
// librdkafka fetches it, and how many of its records are out in units.
//
// It stores each partition's committable offset (the end of its contiguous
// settled prefix) as records settle, and pauses a partition that holds
// consumer.max_in_flight records not yet committable (until half of them
// are), or that holds records its route cannot take while it waits for a
// dependency.
//
// Polling thread only, except ForEachForLag().
//
// Example:
//
//   Assignment assignment(reader, dispatcher, /*max_in_flight=*/1000);
//   Partition* p = assignment.Add({"payment.created", 3}, /*route=*/0);
//   assignment.Admitted(p, record->offset);
//   ...
//   assignment.Settled(p, offset);
//   assignment.StoreProgress();          // offsets to commit, to the reader
#ifndef HERALD_MESSAGING_PIPELINE_ASSIGNMENT_H_
#define HERALD_MESSAGING_PIPELINE_ASSIGNMENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "messaging/pipeline/dispatcher.h"
#include "messaging/pipeline/offset_tracker.h"
#include "messaging/pipeline/reader.h"

namespace herald {
namespace pipeline {

// A partition this member holds.
struct Partition {
  TopicPartition id;
  int route = -1;
  int dispatcher_id = -1;
  OffsetTracker tracker;
  bool revoked = false;
  int running = 0;  // records out in units or awaiting a dead-letter ack
  // Read from other threads, for lag.
  std::atomic<int64_t> committed{-1};
  std::atomic<int64_t> first_fetched{-1};

 private:
  friend class Assignment;
  rd_kafka_topic_t* topic = nullptr;  // for Reader::StoreOffset
  bool paused = false;                // as last told to librdkafka
  bool dirty = false;                 // settled records not yet stored
  int64_t last_admitted = -1;
};

class Assignment {
 public:
  Assignment(Reader& reader, Dispatcher& dispatcher, int max_in_flight);
  ~Assignment();

  Assignment(const Assignment&) = delete;
  Assignment& operator=(const Assignment&) = delete;

  // Add()
  //
  // A partition assigned to this member for `route`.
  Partition* Add(const TopicPartition& id, int route);

  // The partition holding `id`, partition `partition` of `route`, or
  // `held`; nullptr when it is not held.
  Partition* Find(const TopicPartition& id) const;
  Partition* Find(int route, int32_t partition) const;
  Partition* Of(const Held* held) const;
  bool empty() const { return by_id_.empty(); }

  // Admit()
  //
  // A record of `p` was fetched at `offset`: true to take it, false when it
  // is one fetched before (drop it: it is held or settled already).
  // librdkafka 2.0.2 fetches records again when a partition that is not
  // paused is resumed; this guard keeps the offset tracker exact whatever
  // the cause.
  bool Admit(Partition* p, int64_t offset);

  // MoreOnBroker()
  //
  // True when a partition of `route` that is being fetched (not paused) has
  // records on the broker past the last one admitted, as of the fetcher's
  // last answer (its high watermark): more of them are on their way.
  bool MoreOnBroker(int route) const;

  // A record of `p` went out in a unit, or came back to its lane to run
  // again (a retry; `p` keeps it).
  void Dispatched(Partition* p) { ++p->running; }
  void Requeued(Partition* p) { --p->running; }

  // Settled()
  //
  // The record of `p` at `offset`, out in a unit, is settled.
  void Settled(Partition* p, int64_t offset);

  // StoreProgress()
  //
  // Stores the committable offset of every partition that moved.
  void StoreProgress();

  // SetRouteWaiting()
  //
  // While a route waits for a dependency, its partitions that hold records
  // stop fetching.
  void SetRouteWaiting(int route, bool waiting);

  // Revoke()
  //
  // `p` goes: each of its records not out in a unit is passed to `drop` and
  // forgotten; `p` itself lives until its last record out comes back. A
  // paused partition is resumed first: librdkafka would keep it paused
  // should it come back (librdkafka#1849).
  void Revoke(Partition* p, const std::function<void(Held*)>& drop);

  // Forget()
  //
  // A record of revoked `p` came back from a unit: dropped. `p` is freed
  // with its last one.
  void Forget(Partition* p);

  // Calls `visit` for each partition held, with none added or freed
  // meanwhile. Safe from any thread.
  void ForEachForLag(const std::function<void(const Partition&)>& visit) const;

 private:
  void UpdatePause(Partition* p);
  void Free(Partition* p);

  Reader& reader_;
  Dispatcher& dispatcher_;
  const size_t max_in_flight_;
  absl::flat_hash_map<int, Partition*> by_id_;  // dispatcher id -> owned
  // Live (not revoked) partitions, by topic and by route.
  absl::flat_hash_map<std::string, absl::flat_hash_map<int32_t, Partition*>>
      by_topic_;
  std::vector<absl::flat_hash_map<int32_t, Partition*>> by_route_;
  mutable Partition* last_found_ = nullptr;  // Find()'s cache, a live one
  std::vector<bool> route_waiting_;
  std::vector<Partition*> dirty_;
  mutable absl::Mutex lag_mu_;
  absl::flat_hash_set<const Partition*> live_ ABSL_GUARDED_BY(lag_mu_);
};

}  // namespace pipeline
}  // namespace herald

#endif  // HERALD_MESSAGING_PIPELINE_ASSIGNMENT_H_
