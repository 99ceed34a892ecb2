#include "messaging/pipeline/dispatcher.h"

#include <algorithm>
#include <cstring>

namespace herald {
namespace pipeline {

// Records that must run one at a time, in order.
struct Lane {
  Dispatcher::Partition* owner = nullptr;
  int partition = -1;
  int route = -1;
  std::string key;
  std::deque<Held> records;  // in offset order; settled ones leave the front
  bool in_ready = false;
  int ready_run = 0;     // queued records from the head, when ready
  absl::Time ready_due;  // a partial batch holding it goes then
  bool in_timer = false;
  uint64_t timer_generation = 0;
  int timer_refs = 0;  // entries in the timer heap, stale or not
};

struct Dispatcher::Partition {
  int route = -1;
  Lane* only = nullptr;  // Ordering::kPartition: its one lane, kept
  absl::flat_hash_map<std::string, std::unique_ptr<Lane>> lanes;
  bool removed = false;
  size_t size = 0;  // records not settled
};

struct Dispatcher::Route {
  RouteShape shape;
  std::deque<Lane*> ready;   // lanes whose head may run now
  int ready_records = 0;     // sum of their ready_run
  bool more_coming = false;  // a partial batch waits (see SetMoreComing)
  bool holding = false;
  absl::Time hold_until;
  bool probing = false;
};

Dispatcher::Dispatcher(Ordering ordering, std::vector<RouteShape> routes)
    : ordering_(ordering) {
  for (RouteShape& shape : routes) {
    auto route = std::make_unique<Route>();
    if (!shape.batch) shape.max_size = 1;
    shape.max_size = std::max(1, shape.max_size);
    route->shape = shape;
    routes_.push_back(std::move(route));
  }
}

Dispatcher::~Dispatcher() = default;

int Dispatcher::AddPartition(int route) {
  int id = next_partition_++;
  auto partition = std::make_unique<Partition>();
  partition->route = route;
  partitions_[id] = std::move(partition);
  return id;
}

Lane* Dispatcher::LaneFor(Partition& partition, int64_t offset,
                          absl::string_view key) {
  if (partition.only != nullptr) return partition.only;
  std::string lane_key;
  switch (ordering_) {
    case Ordering::kPartition:
      break;
    case Ordering::kKey:
      lane_key = std::string(key);
      break;
    case Ordering::kUnordered:
      lane_key.assign(reinterpret_cast<const char*>(&offset), sizeof(offset));
      break;
  }
  std::unique_ptr<Lane>& lane = partition.lanes[lane_key];
  if (lane == nullptr) {
    lane = std::make_unique<Lane>();
    lane->owner = &partition;
    lane->route = partition.route;
    lane->key = std::move(lane_key);
    if (ordering_ == Ordering::kPartition) partition.only = lane.get();
  }
  return lane.get();
}

Held* Dispatcher::Add(int partition_id, int64_t offset, absl::string_view key,
                      void* record, absl::Time now) {
  return Insert(partition_id, offset, key, record, now, /*running=*/false);
}

Held* Dispatcher::AddRunning(int partition_id, int64_t offset,
                             absl::string_view key, void* record,
                             absl::Time now) {
  return Insert(partition_id, offset, key, record, now, /*running=*/true);
}

Held* Dispatcher::Insert(int partition_id, int64_t offset,
                         absl::string_view key, void* record, absl::Time now,
                         bool running) {
  if (partition_id != last_added_id_) {
    last_added_ = partitions_.at(partition_id).get();
    last_added_id_ = partition_id;
  }
  Partition& partition = *last_added_;
  Lane* lane = LaneFor(partition, offset, key);
  lane->partition = partition_id;
  bool was_empty = lane->records.empty();
  Held& held = lane->records.emplace_back();
  held.partition = partition_id;
  held.offset = offset;
  held.record = record;
  held.arrived = now;
  held.lane = lane;
  if (running) {
    held.running = true;
    ++running_;
  }
  ++size_;
  ++partition.size;
  if (was_empty) {
    Refresh(lane, now, /*urgent=*/false);
  } else if (lane->in_ready && !running) {
    // A ready lane whose records are all queued grows its run.
    Route& route = *routes_[lane->route];
    if (lane->ready_run == static_cast<int>(lane->records.size()) - 1 &&
        lane->ready_run < route.shape.max_size) {
      ++lane->ready_run;
      ++route.ready_records;
    }
  }
  return &held;
}

int Dispatcher::QueuedRun(const Lane& lane, absl::Time now) const {
  const int cap = routes_[lane.route]->shape.max_size;
  int run = 0;
  for (const Held& held : lane.records) {
    if (held.settled) continue;
    if (held.running || held.not_before > now || run >= cap) break;
    ++run;
  }
  return run;
}

void Dispatcher::Refresh(Lane* lane, absl::Time now, bool urgent) {
  if (lane->in_ready) return;
  const Held* head = nullptr;
  for (const Held& held : lane->records) {
    if (!held.settled) {
      head = &held;
      break;
    }
  }
  if (head == nullptr || head->running) return;
  if (head->not_before > now) {
    lane->in_timer = true;
    ++lane->timer_refs;
    timers_.push({head->not_before, lane, ++lane->timer_generation});
    return;
  }
  if (lane->in_timer) {
    lane->in_timer = false;
    ++lane->timer_generation;
  }
  MakeReady(lane, now, urgent);
}

void Dispatcher::MakeReady(Lane* lane, absl::Time now, bool urgent) {
  Route& route = *routes_[lane->route];
  lane->in_ready = true;
  lane->ready_run = QueuedRun(*lane, now);
  route.ready_records += lane->ready_run;
  if (urgent) {
    lane->ready_due = absl::InfinitePast();
    route.ready.push_front(lane);
  } else {
    lane->ready_due = lane->records.front().arrived + route.shape.max_wait;
    route.ready.push_back(lane);
  }
}

void Dispatcher::FireTimers(absl::Time now) {
  while (!timers_.empty() && timers_.top().at <= now) {
    Timer timer = timers_.top();
    timers_.pop();
    Lane* lane = timer.lane;
    --lane->timer_refs;
    if (!lane->in_timer || lane->timer_generation != timer.generation) {
      MaybeErase(lane);  // stale: the lane moved on
      continue;
    }
    lane->in_timer = false;
    Refresh(lane, now, /*urgent=*/true);
  }
}

bool Dispatcher::WaitsToFill(const Route& route) {
  return route.shape.batch && route.more_coming &&
         route.ready_records < route.shape.max_size;
}

void Dispatcher::SetMoreComing(int route, bool more_coming) {
  routes_[route]->more_coming = more_coming;
}

bool Dispatcher::TakeFrom(Route& route, absl::Time now,
                          std::vector<Held*>* unit) {
  if (route.ready.empty()) return false;
  if (WaitsToFill(route) && now < route.ready.front()->ready_due) {
    return false;  // a partial batch waits for the records on their way
  }
  int cap = route.shape.max_size;
  while (!route.ready.empty() && static_cast<int>(unit->size()) < cap) {
    Lane* lane = route.ready.front();
    int took = 0;
    for (Held& held : lane->records) {
      if (held.settled) continue;
      if (held.running || held.not_before > now) break;
      int limit = std::max(1, std::min(cap, held.batch_limit));
      if (static_cast<int>(unit->size()) + 1 > limit) break;
      cap = limit;
      held.running = true;
      ++running_;
      unit->push_back(&held);
      ++took;
      if (static_cast<int>(unit->size()) >= cap) break;
    }
    if (took == 0) break;  // its head's limit is smaller than the unit
    route.ready.pop_front();
    lane->in_ready = false;
    route.ready_records -= lane->ready_run;
    lane->ready_run = 0;
  }
  return !unit->empty();
}

bool Dispatcher::Next(absl::Time now, std::vector<Held*>* unit) {
  unit->clear();
  FireTimers(now);
  const size_t n = routes_.size();
  for (size_t i = 0; i < n; ++i) {
    size_t r = (next_route_ + i) % n;
    Route& route = *routes_[r];
    if (route.holding && (now < route.hold_until || route.probing)) continue;
    if (TakeFrom(route, now, unit)) {
      if (route.holding) route.probing = true;
      next_route_ = r + 1;
      return true;
    }
  }
  return false;
}

absl::Time Dispatcher::NextDeadline(absl::Time now) {
  absl::Time deadline = absl::InfiniteFuture();
  while (!timers_.empty()) {
    const Timer& top = timers_.top();
    if (top.lane->in_timer && top.lane->timer_generation == top.generation) {
      deadline = top.at;
      break;
    }
    Lane* stale = top.lane;
    timers_.pop();
    --stale->timer_refs;
    MaybeErase(stale);
  }
  for (const auto& route : routes_) {
    if (route->ready.empty()) continue;
    if (route->holding && route->probing) continue;
    absl::Time due = now;
    if (WaitsToFill(*route)) due = route->ready.front()->ready_due;
    if (route->holding) due = std::max(due, route->hold_until);
    deadline = std::min(deadline, due);
  }
  return deadline;
}

void Dispatcher::MaybeErase(Lane* lane) {
  if (!lane->records.empty() || lane->in_ready || lane->in_timer ||
      lane->timer_refs > 0) {
    return;
  }
  Partition& partition = *lane->owner;
  if (ordering_ == Ordering::kPartition && !partition.removed) return;
  if (partition.only == lane) partition.only = nullptr;
  partition.lanes.erase(lane->key);  // frees `lane`
}

void Dispatcher::Done(Held* held, absl::Time now) {
  if (held->settled) return;
  Lane* lane = held->lane;
  const int id = held->partition;
  Partition& partition = *lane->owner;
  if (held->running) {
    held->running = false;
    --running_;
  }
  held->settled = true;
  --size_;
  --partition.size;
  while (!lane->records.empty() && lane->records.front().settled) {
    lane->records.pop_front();
  }
  // `held` is freed from here on.
  if (partition.removed) {
    MaybeErase(lane);
    if (partition.size == 0) {
      if (last_added_id_ == id) last_added_id_ = -1;
      partitions_.erase(id);
    }
    return;
  }
  Refresh(lane, now, /*urgent=*/false);
  MaybeErase(lane);
}

void Dispatcher::Retry(Held* held, absl::Time not_before, absl::Time now) {
  if (held->lane->owner->removed) {
    Done(held, now);
    return;
  }
  if (held->running) {
    held->running = false;
    --running_;
  }
  held->not_before = not_before;
  Refresh(held->lane, now, /*urgent=*/true);
}

void Dispatcher::RemovePartition(int partition_id,
                                 const std::function<void(Held*)>& drop) {
  auto it = partitions_.find(partition_id);
  if (it == partitions_.end()) return;
  Partition& partition = *it->second;
  partition.removed = true;
  Route& route = *routes_[partition.route];
  std::vector<Lane*> lanes;
  for (auto& [key, lane] : partition.lanes) lanes.push_back(lane.get());
  for (Lane* lane : lanes) {
    if (lane->in_ready) {
      route.ready.erase(
          std::find(route.ready.begin(), route.ready.end(), lane));
      route.ready_records -= lane->ready_run;
      lane->in_ready = false;
    }
    if (lane->in_timer) {
      lane->in_timer = false;
      ++lane->timer_generation;
    }
    for (Held& held : lane->records) {
      if (held.settled || held.running) continue;
      drop(&held);
      held.settled = true;
      --size_;
      --partition.size;
    }
    while (!lane->records.empty() && lane->records.front().settled) {
      lane->records.pop_front();
    }
  }
  // Timers may still point at lanes about to be freed: drop those entries.
  std::priority_queue<Timer> kept;
  while (!timers_.empty()) {
    Timer t = timers_.top();
    timers_.pop();
    if (t.lane->partition != partition_id) {
      kept.push(t);
    } else {
      --t.lane->timer_refs;
    }
  }
  timers_.swap(kept);
  for (Lane* lane : lanes) MaybeErase(lane);
  if (partition.size == 0) {
    if (last_added_id_ == partition_id) last_added_id_ = -1;
    partitions_.erase(it);
  }
}

void Dispatcher::Clear(const std::function<void(Held*)>& drop) {
  for (auto& [id, partition] : partitions_) {
    for (auto& [key, lane] : partition->lanes) {
      for (Held& held : lane->records) {
        if (!held.settled) drop(&held);
      }
    }
  }
  partitions_.clear();
  last_added_id_ = -1;
  for (auto& route : routes_) {
    route->ready.clear();
    route->ready_records = 0;
  }
  timers_ = {};
  running_ = 0;
  size_ = 0;
}

void Dispatcher::Hold(int route, absl::Time until) {
  Route& r = *routes_[route];
  r.holding = true;
  r.hold_until = until;
  r.probing = false;
}

void Dispatcher::Release(int route) {
  Route& r = *routes_[route];
  r.holding = false;
  r.probing = false;
}

bool Dispatcher::held_back(int route) const { return routes_[route]->holding; }

}  // namespace pipeline
}  // namespace herald
