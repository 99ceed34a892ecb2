#include "messaging/pipeline/retrier.h"

#include <optional>

namespace herald {
namespace pipeline {

void Retrier::Decide(const absl::Status& status, absl::Span<Held* const> called,
                     absl::Time now, std::vector<Decision>* out) const {
  const size_t n = called.size();
  out->assign(n, Decision{});
  if (status.ok()) return;  // all kDone
  std::optional<size_t> at = FailedIndex(status);
  if (at.has_value() && *at >= n) at.reset();  // a bad index says nothing
  const size_t first = at.value_or(0);         // records before it are done
  if (IsDependencyOutage(status)) {
    for (size_t i = first; i < n; ++i) (*out)[i].kind = Decision::kOutage;
    return;
  }
  if (at.has_value() || n == 1) {
    called[first]->batch_limit = 1;  // retried on its own
    (*out)[first] = Failed(called[first], status, now);
    for (size_t i = first + 1; i < n; ++i) {
      (*out)[i] = Decision{Decision::kRetry, now};
    }
    return;
  }
  // A batch failed without saying where: split it in halves and run them
  // again at once; only a record failing on its own is counted.
  const int half = static_cast<int>((n + 1) / 2);
  for (size_t i = 0; i < n; ++i) {
    called[i]->batch_limit = std::min(called[i]->batch_limit, half);
    (*out)[i] = Decision{Decision::kRetry, now};
  }
}

Decision Retrier::Failed(Held* held, const absl::Status& status,
                         absl::Time now) const {
  ++held->attempts;
  if (IsPermanent(status) || held->attempts >= policy_.max_attempts) {
    return GiveUp(held, status, now);
  }
  return {Decision::kRetry, now + BackoffFor(policy_, held->attempts),
          /*counted=*/true};
}

Decision Retrier::Undecodable(Held* held, absl::Status reason,
                              absl::Time now) const {
  return GiveUp(held, std::move(reason), now);
}

Decision Retrier::GiveUp(Held* held, absl::Status status,
                         absl::Time now) const {
  held->failure = std::move(status);
  if (!dead_letter_) {
    // Never settled: it holds its lane and comes back at the longest wait.
    return {Decision::kRetry, now + policy_.max_backoff, /*counted=*/true};
  }
  held->dead_letter = true;
  return {Decision::kDeadLetter, now};
}

}  // namespace pipeline
}  // namespace herald
