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
// ExactlyOnceStaged() is ExactlyOnce() for effects that also reach outside
// the database (an email written or sent): each event's database effects
// are applied and its outside work staged, then the whole batch's outside
// work is performed as a group (many files written and flushed together,
// say), inside the transaction just before it commits. A crash between the
// two redelivers the batch, so that work must be idempotent by event (a
// file named after the event id). When the outside work of event i fails,
// the events before it are committed and i is retried on its own, as above.
//
// ExactlyOnceEach() is the single-record form: one transaction per event.
//
// Example:
//
//   consumer.SubscribeBatch<UserRegistered>(options,
//       ExactlyOnce<UserRegistered>(db, "crm", &OnRegistered));
#ifndef HERALD_MESSAGING_INBOX_EXACTLY_ONCE_H_
#define HERALD_MESSAGING_INBOX_EXACTLY_ONCE_H_

#include <functional>
#include <memory>
#include <optional>
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

// Claims the event and runs `apply()`, unless it was claimed before.
template <typename Apply>
absl::Status ClaimAndApply(db::Transaction& tx, const std::string& inbox_name,
                           const Metadata& metadata, const Apply& apply) {
  absl::StatusOr<bool> first =
      inbox::Claim(tx, inbox_name, inbox::IdentityOf(metadata));
  if (!first.ok()) return first.status();
  if (!*first) return absl::OkStatus();
  return apply();
}

}  // namespace exactly_once_internal

// What ExactlyOnceStaged() does with one batch; a fresh one for each call
// of the handler (calls may run on several threads at once).
template <typename T>
class StagedBatch {
 public:
  virtual ~StagedBatch() = default;
  // A transaction begins, again after a rollback: forget what was staged
  // (but not what Perform() already did, which need not be done twice).
  virtual void Restart() = 0;
  // Event `index` of the batch, claimed for the first time: its effects in
  // `tx`, and its outside work staged for Perform().
  virtual absl::Status Apply(db::Transaction& tx, const T& event,
                             const Metadata& metadata, size_t index) = 0;
  // Does the staged work, durably, just before the commit: OK, or
  // FailedAt(i, error) where i is the batch index of the event whose work
  // failed (the work of the events before it done).
  virtual absl::Status Perform() = 0;
};

template <typename T>
using StagedBatchFactory = std::function<std::unique_ptr<StagedBatch<T>>()>;

template <typename T>
BatchHandler<T> ExactlyOnceStaged(db::Database& db, std::string inbox_name,
                                  StagedBatchFactory<T> make_batch) {
  return [&db, inbox_name = std::move(inbox_name),
          make_batch = std::move(make_batch)](
             const std::vector<Received<T>>& batch) -> absl::Status {
    std::unique_ptr<StagedBatch<T>> staged = make_batch();
    // Applies events [0, end) in one transaction; notes the one that fails.
    size_t failed = batch.size();
    auto apply = [&](size_t end) {
      return db.Transact([&](db::Transaction& tx) -> absl::Status {
        failed = batch.size();  // the body may run again after a conflict
        staged->Restart();
        for (size_t i = 0; i < end; ++i) {
          const Metadata& metadata = *batch[i].metadata;
          absl::Status s = exactly_once_internal::ClaimAndApply(
              tx, inbox_name, metadata,
              [&] { return staged->Apply(tx, *batch[i].event, metadata, i); });
          if (!s.ok()) {
            failed = i;
            return s;
          }
        }
        absl::Status performed = staged->Perform();
        std::optional<size_t> at = FailedIndex(performed);
        if (at.has_value() && *at < end) failed = *at;
        return performed;
      });
    };
    absl::Status status = apply(batch.size());
    if (IsDependencyOutage(status)) {
      // Nothing was committed: the whole batch waits (without the index
      // Perform() may have put on it, which would settle its prefix).
      return DependencyOutage(absl::Status(status.code(), status.message()));
    }
    if (status.ok() || failed == batch.size()) {
      return status;  // done, or the commit failed
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

namespace exactly_once_internal {

// A batch whose effects are all in the database.
template <typename T>
class InDatabase : public StagedBatch<T> {
 public:
  explicit InDatabase(const Effect<T>& effect) : effect_(effect) {}
  void Restart() override {}
  absl::Status Apply(db::Transaction& tx, const T& event,
                     const Metadata& metadata, size_t) override {
    return effect_(tx, event, metadata);
  }
  absl::Status Perform() override { return absl::OkStatus(); }

 private:
  const Effect<T>& effect_;
};

}  // namespace exactly_once_internal

template <typename T>
BatchHandler<T> ExactlyOnce(db::Database& db, std::string inbox_name,
                            Effect<T> effect) {
  auto shared = std::make_shared<Effect<T>>(std::move(effect));
  return ExactlyOnceStaged<T>(db, std::move(inbox_name), [shared] {
    return std::make_unique<exactly_once_internal::InDatabase<T>>(*shared);
  });
}

template <typename T>
Handler<T> ExactlyOnceEach(db::Database& db, std::string inbox_name,
                           Effect<T> effect) {
  return [&db, inbox_name = std::move(inbox_name), effect = std::move(effect)](
             const T& event, const Metadata& metadata) {
    return db.Transact([&](db::Transaction& tx) -> absl::Status {
      return exactly_once_internal::ClaimAndApply(
          tx, inbox_name, metadata,
          [&] { return effect(tx, event, metadata); });
    });
  };
}

}  // namespace inbox
}  // namespace herald

#endif  // HERALD_MESSAGING_INBOX_EXACTLY_ONCE_H_
