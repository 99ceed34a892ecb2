// File: messaging/pipeline/offset_tracker.h
//
// OffsetTracker knows, for one partition, which fetched records are settled
// and so which offset may be committed. A record is settled when its handler
// succeeded or its dead-letter record was acknowledged by the broker;
// records may settle in any order (key-ordered handling, a retry holding one
// record back), but the committable offset is always the end of the
// contiguous settled prefix: the offset after the last record that has no
// unsettled record before it. A crash or a rebalance then redelivers every
// unsettled record, and nothing is lost.
//
// Offsets need not be contiguous (compaction and transaction markers leave
// gaps): the tracker follows the records it was given, in fetch order.
//
// Example:
//
//   OffsetTracker tracker;
//   tracker.Add(10); tracker.Add(11); tracker.Add(12);
//   tracker.Settle(11);               // 10 is still running
//   tracker.TakeCommittable();        // nullopt: nothing may be committed
//   tracker.Settle(10);
//   tracker.TakeCommittable();        // 12: 10 and 11 are settled
#ifndef HERALD_MESSAGING_PIPELINE_OFFSET_TRACKER_H_
#define HERALD_MESSAGING_PIPELINE_OFFSET_TRACKER_H_

#include <cstdint>
#include <deque>
#include <optional>

namespace herald {
namespace pipeline {

class OffsetTracker {
 public:
  // Add()
  //
  // A record fetched at `offset`, not settled yet. Offsets must grow from
  // one call to the next.
  void Add(int64_t offset);

  // Settle()
  //
  // The record at `offset` (added before) is settled. Settling an offset
  // that was not added, or twice, is a no-op.
  void Settle(int64_t offset);

  // TakeCommittable()
  //
  // The offset to commit (the next one to read) when it moved since the last
  // call, else nullopt.
  std::optional<int64_t> TakeCommittable();

  // The offset to commit as of now; -1 before any record settled.
  int64_t committable() const { return committable_; }

  // Records added whose offsets are not committable yet (unsettled ones and
  // the settled ones behind them): what the partition holds in memory.
  size_t held() const { return records_.size(); }

  // Records added and not settled.
  size_t unsettled() const { return unsettled_; }

 private:
  struct Entry {
    int64_t offset;
    bool settled;
  };
  std::deque<Entry> records_;  // in offset order
  size_t unsettled_ = 0;
  int64_t committable_ = -1;
  int64_t taken_ = -1;
};

}  // namespace pipeline
}  // namespace herald

#endif  // HERALD_MESSAGING_PIPELINE_OFFSET_TRACKER_H_
