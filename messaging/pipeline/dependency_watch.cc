#include "messaging/pipeline/dependency_watch.h"

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace herald {
namespace pipeline {

DependencyWatch::DependencyWatch(Dispatcher& dispatcher, Assignment& assignment,
                                 RetryPolicy backoff)
    : dispatcher_(dispatcher), assignment_(assignment), backoff_(backoff) {}

void DependencyWatch::AddRoute(int route, std::string topic,
                               metrics::Gauge* waiting) {
  if (static_cast<size_t>(route) >= routes_.size()) routes_.resize(route + 1);
  routes_[route].topic = std::move(topic);
  routes_[route].gauge = waiting;
}

absl::Time DependencyWatch::RouteDown(int route, const absl::Status& error,
                                      absl::Time now) {
  RouteWait& r = routes_[route];
  const absl::Duration wait = BackoffFor(backoff_, ++r.outages);
  if (r.outages == 1) {
    r.since = now;
    LOG(WARNING) << r.topic << ": a dependency is unavailable ("
                 << error.message() << "); pausing its partitions and "
                 << "trying again in " << wait << " (no attempts are used)";
    if (r.gauge != nullptr) r.gauge->Set(1);
    assignment_.SetRouteWaiting(route, true);
  } else {
    LOG_EVERY_N(WARNING, 10) << r.topic << ": still waiting for a dependency ("
                             << error.message() << ")";
  }
  SetWaiting(r.topic, std::string(error.message()));
  dispatcher_.Hold(route, now + wait);
  return now + wait;
}

void DependencyWatch::RouteAnswered(int route, bool handler_called,
                                    absl::Time now) {
  if (!dispatcher_.held_back(route)) return;
  if (!handler_called) {
    dispatcher_.Hold(route, now);  // no answer yet: probe again
    return;
  }
  RouteWait& r = routes_[route];
  LOG(INFO) << r.topic << ": the dependency is back after " << now - r.since;
  r.outages = 0;
  dispatcher_.Release(route);
  if (r.gauge != nullptr) r.gauge->Set(0);
  assignment_.SetRouteWaiting(route, false);
  ClearWaiting(r.topic);
}

void DependencyWatch::DeadLetterRefused(const std::string& topic,
                                        const absl::Status& error, bool first) {
  if (first) ++dead_letters_waiting_[topic];
  SetWaiting(absl::StrCat("dead-letter topic ", topic),
             absl::StrCat("dead-letter topic ", topic, ": ", error.message()));
}

void DependencyWatch::DeadLetterTaken(const std::string& topic) {
  DeadLetterGivenUp(topic);
}

void DependencyWatch::DeadLetterGivenUp(const std::string& topic) {
  auto it = dead_letters_waiting_.find(topic);
  if (it == dead_letters_waiting_.end()) return;
  if (--it->second > 0) return;
  dead_letters_waiting_.erase(it);
  ClearWaiting(absl::StrCat("dead-letter topic ", topic));
}

void DependencyWatch::SetWaiting(const std::string& what, std::string error) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = waiting_.try_emplace(what);
  if (inserted) {
    it->second.waiting = true;
    it->second.since = absl::Now();
  }
  it->second.error = std::move(error);
}

void DependencyWatch::ClearWaiting(const std::string& what) {
  absl::MutexLock lock(&mu_);
  waiting_.erase(what);
}

DependencyWatch::Waiting DependencyWatch::Health() const {
  absl::MutexLock lock(&mu_);
  Waiting oldest;
  for (const auto& [what, w] : waiting_) {
    if (!oldest.waiting || w.since < oldest.since) oldest = w;
  }
  return oldest;
}

}  // namespace pipeline
}  // namespace herald
