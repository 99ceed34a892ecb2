#include "messaging/pipeline/offset_tracker.h"

#include <algorithm>

namespace herald {
namespace pipeline {

void OffsetTracker::Add(int64_t offset) {
  records_.push_back({offset, false});
  ++unsettled_;
}

void OffsetTracker::Settle(int64_t offset) {
  if (records_.empty()) return;
  auto it = records_.begin();
  if (it->offset != offset) {  // the usual case is the front
    it = std::lower_bound(
        records_.begin(), records_.end(), offset,
        [](const Entry& e, int64_t o) { return e.offset < o; });
    if (it == records_.end() || it->offset != offset) return;
  }
  if (it->settled) return;
  it->settled = true;
  --unsettled_;
  while (!records_.empty() && records_.front().settled) {
    committable_ = records_.front().offset + 1;
    records_.pop_front();
  }
}

std::optional<int64_t> OffsetTracker::TakeCommittable() {
  if (committable_ == taken_) return std::nullopt;
  taken_ = committable_;
  return committable_;
}

}  // namespace pipeline
}  // namespace herald
