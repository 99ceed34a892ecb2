// File: gateway/store.h
//
// The gateway's domain: payments and users in its database, each change
// written together with its event in the outbox, in ONE transaction — and
// Idempotency-Key replays answered from that same transaction's record.
//
// Every method returns the HTTP-level result (status + JSON body) or an
// absl::Status that gateway/api_error.h maps to a 4xx/5xx.
#ifndef HERALD_GATEWAY_STORE_H_
#define HERALD_GATEWAY_STORE_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "database/database.h"
#include "database/migrations.h"
#include "gateway/requests.h"
#include "messaging/outbox/outbox_store.h"

namespace herald {
namespace gateway {

// What a write produced: the answer, and the event to publish with it.
struct Outcome {
  int http_status = 200;
  std::string body;  // JSON
  // The event, encoded as its outbox row: before the transaction when it is
  // known then (creations), otherwise in it.
  std::optional<outbox::OutboxRow> event;
  // The event's row id, once committed (for OutboxRelay::Handoff).
  int64_t outbox_id = 0;
};

// A POST's idempotency: the client's key and a fingerprint of the request.
struct IdempotencyKey {
  std::string key;
  std::string route;
  std::string fingerprint;
};

// Receives a write's outcome, on a database thread: keep it short.
using OutcomeCallback = std::function<void(absl::StatusOr<Outcome>)>;

class Store {
 public:
  // `service` is the events' ce_source.
  Store(db::Database& db, std::string service);

  static std::vector<db::Migration> Migrations();

  // Each write runs asynchronously (db::Database::TransactAsync) and calls
  // `done` once, after its transaction committed or rolled back.
  void CreatePayment(CreatePayment request, std::optional<IdempotencyKey> key,
                     OutcomeCallback done);
  void UpdatePaymentStatus(std::string payment_id, UpdatePaymentStatus request,
                           std::optional<IdempotencyKey> key,
                           OutcomeCallback done);
  void RegisterUser(RegisterUser request, std::optional<IdempotencyKey> key,
                    OutcomeCallback done);
  void RequestEmail(SendEmail request, std::optional<IdempotencyKey> key,
                    OutcomeCallback done);
  // The payment as JSON; NotFound when there is no such payment. A quick
  // read that does not wait for writes.
  absl::StatusOr<std::string> GetPayment(const std::string& payment_id);

  // Forgets Idempotency-Keys stored before `cutoff` (a retry with one of
  // them is then a new request); returns how many. Blocks: not for the
  // database's own threads.
  absl::StatusOr<int64_t> PruneIdempotencyKeys(absl::Time cutoff);

 private:
  // A write's transaction body: writes its rows and fills in `outcome`. A
  // write whose answer is known beforehand (a creation) has it prepared in
  // `outcome` and leaves it be: the database's one writer thread copies
  // nothing. A body may run more than once (a batch retried), so it must
  // not consume what it captured.
  using Work = std::function<absl::Status(db::Transaction&, Outcome&)>;
  // Runs `work` and stores its event in the outbox in one transaction; with a
  // key, a replay returns the stored answer and runs nothing.
  void Write(std::optional<IdempotencyKey> key, Outcome prepared, Work work,
             OutcomeCallback done, bool is_retry = false);
  // One run of a write's transaction. A replayed key's stored answer goes to
  // `replayed`; otherwise `work` fills `outcome` and its event goes to the
  // outbox.
  absl::Status WriteOnce(db::Transaction& tx,
                         const std::optional<IdempotencyKey>& key,
                         const Work& work, Outcome& outcome,
                         std::optional<Outcome>& replayed);

  db::Database& db_;
  const std::string service_;
};

}  // namespace gateway
}  // namespace herald

#endif  // HERALD_GATEWAY_STORE_H_
