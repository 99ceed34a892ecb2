// File: messaging/inbox/exactly_once.h
//
// Handlers whose effects happen once per event: each event is first claimed
// in the inbox (messaging/inbox/inbox.h: its `ce_id`, or where it was written
// for a record without one) in the same database transaction as its
// effects; an event already claimed (a redelivery) changes nothing.
//
// ExactlyOnce() runs a whole batch in ONE transaction. When one event's
// effect fails, that transaction is rolled back, the events before it are
// committed again in a transaction of their own, and FailedAt() tells the
// consumer which event failed: it alone is retried (and, if it keeps
// failing, dead-lettered); its neighbours keep their effects. When the
// database itself is unavailable, the error is marked DependencyOutage by
// the database layer and the consumer waits for it without using any
// attempts.
//
// ExactlyOnceEach() is the single-record form: one transaction per event,
// for effects that may fail on their own, such as delivering an email.
//
// Example:
//
//   consumer.SubscribeBatch<UserRegistered>(options,
//       ExactlyOnce<UserRegistered>(db, "crm", &OnRegistered));
#ifndef HERALD_MESSAGING_INBOX_EXACTLY_ONCE_H_
#define HERALD_MESSAGING_INBOX_EXACTLY_ONCE_H_

#include <functional>
#include <string>
#include <vector>

#include "base/dependency_outage.h"
#include "database/database.h"
#include "messaging/consumer.h"
#include "messaging/inbox/inbox.h"
#include "messaging/retry.h"

namespace herald {
namespace inbox {

template <typename T>
using Effect =
    std::function<absl::Status(db::Transaction&, const T&, const Metadata&)>;

namespace exactly_once_internal {

// Claims the event and applies its effect, unless it was claimed before.
template <typename T>
absl::Status ClaimAndApply(db::Transaction& tx, const std::string& inbox_name,
                           const Effect<T>& effect, const T& event,
                           const Metadata& metadata) {
  absl::StatusOr<bool> first =
      inbox::Claim(tx, inbox_name, inbox::IdentityOf(metadata));
  if (!first.ok()) return first.status();
  if (!*first) return absl::OkStatus();
  return effect(tx, event, metadata);
}

}  // namespace exactly_once_internal

template <typename T>
BatchHandler<T> ExactlyOnce(db::Database& db, std::string inbox_name,
                            Effect<T> effect) {
  return [&db, inbox_name = std::move(inbox_name), effect = std::move(effect)](
             const std::vector<Received<T>>& batch) -> absl::Status {
    // Applies events [0, end) in one transaction; notes the one that fails.
    size_t failed = batch.size();
    auto apply = [&](size_t end) {
      return db.Transact([&](db::Transaction& tx) -> absl::Status {
        failed = batch.size();  // the body may run again after a conflict
        for (size_t i = 0; i < end; ++i) {
          absl::Status s = exactly_once_internal::ClaimAndApply(
              tx, inbox_name, effect, *batch[i].event, *batch[i].metadata);
          if (!s.ok()) {
            failed = i;
            return s;
          }
        }
        return absl::OkStatus();
      });
    };
    absl::Status status = apply(batch.size());
    if (status.ok() || IsDependencyOutage(status) || failed == batch.size()) {
      return status;  // done, the database is down, or the commit failed
    }
    const size_t culprit = failed;
    if (culprit > 0) {
      // Keep the effects of the events before the one that failed.
      absl::Status prefix = apply(culprit);
      if (!prefix.ok()) return prefix;  // the consumer splits the batch
    }
    return FailedAt(culprit, status);
  };
}

template <typename T>
Handler<T> ExactlyOnceEach(db::Database& db, std::string inbox_name,
                           Effect<T> effect) {
  return [&db, inbox_name = std::move(inbox_name), effect = std::move(effect)](
             const T& event, const Metadata& metadata) {
    return db.Transact([&](db::Transaction& tx) -> absl::Status {
      return exactly_once_internal::ClaimAndApply(tx, inbox_name, effect, event,
                                                  metadata);
    });
  };
}

}  // namespace inbox
}  // namespace herald

#endif  // HERALD_MESSAGING_INBOX_EXACTLY_ONCE_H_
