// File: workers/runtime/exactly_once.h
//
// Batch handlers whose effects happen once per event: the whole batch runs in
// ONE database transaction, each event first claimed in the inbox; events
// already claimed (redeliveries) are skipped. A failure rolls back the batch
// (effects and claims together) and the consumer retries it.
//
// Example:
//
//   consumer.SubscribeBatch<UserRegistered>(options,
//       ExactlyOnce<UserRegistered>(db, "crm", &OnRegistered));
#ifndef HERALD_WORKERS_RUNTIME_EXACTLY_ONCE_H_
#define HERALD_WORKERS_RUNTIME_EXACTLY_ONCE_H_

#include <functional>
#include <string>
#include <vector>

#include "database/database.h"
#include "messaging/consumer.h"
#include "messaging/inbox/inbox.h"

namespace herald {
namespace workers {

template <typename T>
using Effect =
    std::function<absl::Status(db::Transaction&, const T&, const Metadata&)>;

template <typename T>
BatchHandler<T> ExactlyOnce(db::Database& db, std::string inbox_name,
                            Effect<T> effect) {
  return [&db, inbox_name = std::move(inbox_name),
          effect = std::move(effect)](const std::vector<Received<T>>& batch) {
    return db.Transact([&](db::Transaction& tx) -> absl::Status {
      for (const Received<T>& r : batch) {
        absl::StatusOr<bool> first =
            inbox::Claim(tx, inbox_name, r.metadata->event_id);
        if (!first.ok()) return first.status();
        if (!*first) continue;
        absl::Status s = effect(tx, *r.event, *r.metadata);
        if (!s.ok()) return s;
      }
      return absl::OkStatus();
    });
  };
}

// The single-record form: one transaction per event (for effects that may
// fail on their own, such as delivering an email).
template <typename T>
Handler<T> ExactlyOnceEach(db::Database& db, std::string inbox_name,
                           Effect<T> effect) {
  return [&db, inbox_name = std::move(inbox_name), effect = std::move(effect)](
             const T& event, const Metadata& metadata) {
    return db.Transact([&](db::Transaction& tx) -> absl::Status {
      absl::StatusOr<bool> first =
          inbox::Claim(tx, inbox_name, metadata.event_id);
      if (!first.ok()) return first.status();
      if (!*first) return absl::OkStatus();
      return effect(tx, event, metadata);
    });
  };
}

// The batch options a worker's configuration asks for.
inline BatchOptions WorkerBatchOptions(const Config& config) {
  BatchOptions options;
  options.max_size = config.consumer.batch_size;
  options.max_wait = absl::Milliseconds(config.consumer.batch_wait_ms);
  return options;
}

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_RUNTIME_EXACTLY_ONCE_H_
