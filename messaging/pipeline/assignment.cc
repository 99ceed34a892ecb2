#include "messaging/pipeline/assignment.h"

#include <glog/logging.h>

#include <algorithm>

namespace herald {
namespace pipeline {

Assignment::Assignment(Reader& reader, Dispatcher& dispatcher,
                       int max_in_flight)
    : reader_(reader),
      dispatcher_(dispatcher),
      max_in_flight_(static_cast<size_t>(std::max(1, max_in_flight))) {}

Assignment::~Assignment() {
  for (auto& [id, p] : by_id_) {
    reader_.ReleaseTopic(p->topic);
    delete p;
  }
}

Partition* Assignment::Add(const TopicPartition& id, int route) {
  auto* p = new Partition;
  p->id = id;
  p->route = route;
  p->dispatcher_id = dispatcher_.AddPartition(route);
  p->topic = reader_.TopicHandle(id.topic);
  by_id_[p->dispatcher_id] = p;
  by_topic_[id.topic][id.partition] = p;
  if (static_cast<size_t>(route) >= by_route_.size()) {
    by_route_.resize(route + 1);
  }
  by_route_[route][id.partition] = p;
  {
    absl::MutexLock lock(&lag_mu_);
    live_.insert(p);
  }
  return p;
}

Partition* Assignment::Find(const TopicPartition& id) const {
  auto topic = by_topic_.find(id.topic);
  if (topic == by_topic_.end()) return nullptr;
  auto it = topic->second.find(id.partition);
  return it == topic->second.end() ? nullptr : it->second;
}

Partition* Assignment::Find(int route, int32_t partition) const {
  // Records come in runs of one partition (a fetch's batch): remember the
  // last answer.
  if (last_found_ != nullptr && last_found_->route == route &&
      last_found_->id.partition == partition) {
    return last_found_;
  }
  if (static_cast<size_t>(route) >= by_route_.size()) return nullptr;
  auto it = by_route_[route].find(partition);
  if (it == by_route_[route].end()) return nullptr;
  last_found_ = it->second;
  return last_found_;
}

Partition* Assignment::Of(const Held* held) const {
  if (held->context != nullptr) return static_cast<Partition*>(held->context);
  return by_id_.at(held->partition);
}

bool Assignment::Admit(Partition* p, int64_t offset) {
  if (offset <= p->last_admitted) return false;
  p->last_admitted = offset;
  if (p->first_fetched.load(std::memory_order_relaxed) < 0) {
    p->first_fetched.store(offset, std::memory_order_relaxed);
  }
  p->tracker.Add(offset);
  if (!p->paused) {
    const bool waiting =
        static_cast<size_t>(p->route) < route_waiting_.size() &&
        route_waiting_[p->route];
    if (waiting || p->tracker.held() >= max_in_flight_) UpdatePause(p);
  }
  return true;
}

bool Assignment::MoreOnBroker(int route) const {
  if (static_cast<size_t>(route) >= by_route_.size()) return false;
  for (const auto& [number, p] : by_route_[route]) {
    // Before its first record the fetch position is unknown here.
    if (p->paused || p->last_admitted < 0) continue;
    std::optional<int64_t> high = reader_.HighWatermark(p->id);
    if (high.has_value() && *high > p->last_admitted + 1) return true;
  }
  return false;
}

void Assignment::Settled(Partition* p, int64_t offset) {
  --p->running;
  p->tracker.Settle(offset);
  if (!p->dirty) {
    p->dirty = true;
    dirty_.push_back(p);
  }
  if (p->paused) UpdatePause(p);
}

void Assignment::StoreProgress() {
  for (Partition* p : dirty_) {
    p->dirty = false;
    if (p->revoked) continue;
    std::optional<int64_t> next = p->tracker.TakeCommittable();
    if (!next.has_value()) continue;
    reader_.StoreOffset(p->topic, p->id.partition, *next);
    p->committed.store(*next, std::memory_order_relaxed);
  }
  dirty_.clear();
}

void Assignment::UpdatePause(Partition* p) {
  if (p->revoked) return;
  const size_t held = p->tracker.held();
  const bool waiting = static_cast<size_t>(p->route) < route_waiting_.size() &&
                       route_waiting_[p->route];
  // A partition that holds nothing fetches even while its route waits: a
  // probe needs a record (a rebalance may have taken them all).
  const bool pause = (waiting && held > 0) || held >= max_in_flight_ ||
                     (p->paused && held > max_in_flight_ / 2);
  if (pause == p->paused) return;
  p->paused = pause;
  VLOG(1) << (pause ? "pausing " : "resuming ") << p->id.topic << "/"
          << p->id.partition << " (" << held << " held"
          << (waiting ? ", waiting for a dependency)" : ")");
  if (pause) {
    reader_.Pause(p->id);
  } else {
    reader_.Resume(p->id);
  }
}

void Assignment::SetRouteWaiting(int route, bool waiting) {
  if (static_cast<size_t>(route) >= route_waiting_.size()) {
    route_waiting_.resize(route + 1, false);
  }
  if (route_waiting_[route] == waiting) return;
  route_waiting_[route] = waiting;
  for (auto& [id, p] : by_id_) {
    if (p->route == route) UpdatePause(p);
  }
}

void Assignment::Revoke(Partition* p, const std::function<void(Held*)>& drop) {
  if (p->dirty) StoreProgress();
  if (p->paused) {
    reader_.Resume(p->id);
    p->paused = false;
  }
  p->revoked = true;
  if (last_found_ == p) last_found_ = nullptr;
  auto topic = by_topic_.find(p->id.topic);
  if (topic != by_topic_.end()) {
    topic->second.erase(p->id.partition);
    if (topic->second.empty()) by_topic_.erase(topic);
  }
  by_route_[p->route].erase(p->id.partition);
  dispatcher_.RemovePartition(p->dispatcher_id, drop);
  if (p->running == 0) Free(p);
}

void Assignment::Forget(Partition* p) {
  --p->running;
  if (p->revoked && p->running == 0) Free(p);
}

void Assignment::Free(Partition* p) {
  {
    absl::MutexLock lock(&lag_mu_);
    live_.erase(p);
  }
  reader_.ReleaseTopic(p->topic);
  by_id_.erase(p->dispatcher_id);
  delete p;
}

void Assignment::ForEachForLag(
    const std::function<void(const Partition&)>& visit) const {
  absl::MutexLock lock(&lag_mu_);
  for (const Partition* p : live_) visit(*p);
}

}  // namespace pipeline
}  // namespace herald
