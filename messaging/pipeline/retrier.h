// File: messaging/pipeline/retrier.h
//
// The Retrier turns what a handler returned into what becomes of each record
// it was given, with one policy for single records and batches (see
// messaging/retry.h for what a handler may return):
//
//   kDone        settled
//   kRetry       runs again, not before `not_before`; a failure counted
//                against the record (its backoff grows), or a record after
//                the one at fault (no wait, nothing counted), or half of a
//                batch that failed without saying where (`batch_limit`)
//   kDeadLetter  to be published to `<topic>.dlq` (`failure` says why)
//   kOutage      a dependency is down: wait, nothing counted
//
// It keeps its state in the records themselves (Held::attempts,
// batch_limit, dead_letter, failure), so a record carries its history from
// one unit to the next.
//
// Example:
//
//   Retrier retrier(policy, /*dead_letter=*/true);
//   retrier.Decide(handler_status, unit, absl::Now(), &decisions);
//   for (size_t i = 0; i < unit.size(); ++i) Apply(unit[i], decisions[i]);
#ifndef HERALD_MESSAGING_PIPELINE_RETRIER_H_
#define HERALD_MESSAGING_PIPELINE_RETRIER_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "messaging/pipeline/dispatcher.h"
#include "messaging/retry.h"

namespace herald {
namespace pipeline {

struct Decision {
  enum Kind { kDone, kRetry, kDeadLetter, kOutage };
  Kind kind = kDone;
  absl::Time not_before;  // kRetry
  // The record failed on its own: a retry, counted against its attempts.
  bool counted = false;
};

class Retrier {
 public:
  // With `dead_letter` false, a record that exhausted its attempts (or
  // cannot be decoded) is retried at the longest backoff, forever.
  Retrier(RetryPolicy policy, bool dead_letter)
      : policy_(policy), dead_letter_(dead_letter) {}

  // Decide()
  //
  // `called` are the records the handler was given, in order, and `status`
  // what it returned. Fills `out` with one decision per record.
  void Decide(const absl::Status& status, absl::Span<Held* const> called,
              absl::Time now, std::vector<Decision>* out) const;

  // A record that cannot be decoded: dead-lettered at once.
  Decision Undecodable(Held* held, absl::Status reason, absl::Time now) const;

  // The wait after the `n`th outage in a row (1-based), for a route held
  // back or a dead-letter publish that failed.
  absl::Duration OutageBackoff(int n) const { return BackoffFor(policy_, n); }

  const RetryPolicy& policy() const { return policy_; }

 private:
  // Record `held` failed on its own with `status`.
  Decision Failed(Held* held, const absl::Status& status, absl::Time now) const;
  Decision GiveUp(Held* held, absl::Status status, absl::Time now) const;

  const RetryPolicy policy_;
  const bool dead_letter_;
};

}  // namespace pipeline
}  // namespace herald

#endif  // HERALD_MESSAGING_PIPELINE_RETRIER_H_
