// File: gateway/store.h
//
// The gateway's domain store: payments and users in its database, each
// change written together with its event in the outbox, in ONE transaction,
// and Idempotency-Key replays answered from that same transaction's record.
//
// Each operation reports what became of it in the domain, one result type
// per operation: committed, replayed, a key reused for another request, a
// payment not found, a transition not allowed from its status, an email
// already registered. What a client is answered for each is the HTTP
// layer's decision (gateway/http_answers.h). An absl::Status error means
// that the store itself failed (its database), not that the request was
// refused.
//
// The store keeps what a request was answered, for Idempotency-Key
// replays, but does not make answers: the caller's AnswerRenderer does, once
// per write that goes through, and the store records that answer with the
// key as an opaque RecordedAnswer and hands it back as it is. Creations ask
// for their answer on the calling thread, before the transaction, so that
// the database's one writer thread does little more than the INSERTs.
//
// Example:
//
//   HttpAnswers answers;  // an AnswerRenderer
//   Store store(*db, "gateway", answers, relay.get());
//   store.CreatePayment(
//       std::move(command), std::nullopt,
//       [](absl::StatusOr<CreatePaymentResult> result) {
//         // On a database thread: hand the result on, keep it short.
//       });
#ifndef HERALD_GATEWAY_STORE_H_
#define HERALD_GATEWAY_STORE_H_

#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "database/database.h"
#include "database/migrations.h"
#include "gateway/domain.h"

namespace herald {
namespace outbox {
class OutboxRelay;
}  // namespace outbox

namespace gateway {

// RecordedAnswer
//
// What a request was answered, as the AnswerRenderer made it: for the store
// an opaque record (columns http_status and body of idempotency_keys) that
// it keeps with the request's Idempotency-Key and returns byte for byte.
struct RecordedAnswer {
  int status = 0;    // the HTTP status, to the HTTP layer
  std::string body;  // the HTTP body
};

// AnswerRenderer
//
// Makes the answer to a write that goes through. The store calls it once
// per write: for a creation on the calling thread before the transaction,
// for a status change inside the transaction, after reading the payment.
// Must be thread-safe.
class AnswerRenderer {
 public:
  virtual ~AnswerRenderer() = default;
  virtual RecordedAnswer PaymentCreated(const Payment& payment) const = 0;
  virtual RecordedAnswer PaymentStatusChanged(const Payment& payment) const = 0;
  virtual RecordedAnswer UserRegistered(const User& user) const = 0;
  // `event_id` is the id of the EmailNotification event.
  virtual RecordedAnswer EmailRequested(absl::string_view event_id) const = 0;
  // `event_id` is the id of the RealtimeMessage event.
  virtual RecordedAnswer RealtimeMessagePublished(
      absl::string_view event_id, absl::string_view channel) const = 0;
};

// What became of a write.

// The write committed, with its event. `answer` is what the AnswerRenderer
// made for it, recorded with the Idempotency-Key if there was one.
struct Committed {
  RecordedAnswer answer;
};
// The Idempotency-Key was used before, for the same request: nothing was
// written and no event is sent again. `answer` is the first request's.
struct Replayed {
  RecordedAnswer answer;
};
// The Idempotency-Key was used before, for another request (another route
// or body): nothing was written.
struct KeyReused {};
struct PaymentNotFound {
  std::string payment_id;
};
// Only pending -> succeeded | failed | canceled is allowed.
struct TransitionNotAllowed {
  std::string payment_id;
  std::string from;  // the payment's status
  std::string to;    // the status asked for
};
// Another write changed the payment between this one's read and update.
struct PaymentChangedConcurrently {
  std::string payment_id;
};
struct EmailTaken {
  std::string email;
};

using CreatePaymentResult = std::variant<Committed, Replayed, KeyReused>;
using UpdatePaymentStatusResult =
    std::variant<Committed, Replayed, KeyReused, PaymentNotFound,
                 TransitionNotAllowed, PaymentChangedConcurrently>;
using RegisterUserResult =
    std::variant<Committed, Replayed, KeyReused, EmailTaken>;
using RequestEmailResult = std::variant<Committed, Replayed, KeyReused>;
using PublishRealtimeResult = std::variant<Committed, Replayed, KeyReused>;
using GetPaymentResult = std::variant<Payment, PaymentNotFound>;

// Receives a write's result once, on a database thread: keep it short.
// An error is a failure of the store (e.g. its database is unavailable).
template <typename Result>
using Done = std::function<void(absl::StatusOr<Result>)>;

// A POST's idempotency: the client's key and a fingerprint of the request.
struct IdempotencyKey {
  // The client's key, scoped by the API key that sent it:
  // "<API key name>:<Idempotency-Key>" (gateway/gateway.cc).
  std::string key;
  std::string route;
  std::string fingerprint;
};

class Store {
 public:
  // `service` is the events' ce_source. `answers` must outlive the store.
  // A committed event is handed to `relay` (OutboxRelay::Handoff) to be
  // published from memory; with no relay, or when it declines, the relay
  // finds the row in the outbox table. `outbox_shards` false appends rows
  // by id alone, for a relay without shard leases (RelayOptions; the
  // benchmarks' baseline, not a setting).
  Store(db::Database& db, std::string service, const AnswerRenderer& answers,
        outbox::OutboxRelay* relay, bool outbox_shards = true);

  static std::vector<db::Migration> Migrations();

  // Each write runs asynchronously (db::Database::TransactAsync) and calls
  // `done` once, after its transaction committed or rolled back. With a
  // key, a request seen before is answered from the record (Replayed,
  // KeyReused) and writes nothing.
  void CreatePayment(CreatePayment command, std::optional<IdempotencyKey> key,
                     Done<CreatePaymentResult> done);
  void UpdatePaymentStatus(std::string payment_id, UpdatePaymentStatus command,
                           std::optional<IdempotencyKey> key,
                           Done<UpdatePaymentStatusResult> done);
  void RegisterUser(RegisterUser command, std::optional<IdempotencyKey> key,
                    Done<RegisterUserResult> done);
  void RequestEmail(SendEmail command, std::optional<IdempotencyKey> key,
                    Done<RequestEmailResult> done);
  // Only the event is written (to the outbox, like every other).
  void PublishRealtime(PublishRealtimeMessage command,
                       std::optional<IdempotencyKey> key,
                       Done<PublishRealtimeResult> done);

  // The payment, or PaymentNotFound. A quick read that does not wait for
  // writes.
  absl::StatusOr<GetPaymentResult> GetPayment(const std::string& payment_id);

  // Forgets Idempotency-Keys stored before `cutoff` (a retry with one of
  // them is then a new request); returns how many. Blocks: not for the
  // database's own threads.
  absl::StatusOr<int64_t> PruneIdempotencyKeys(absl::Time cutoff);

 private:
  db::Database& db_;
  const std::string service_;
  const AnswerRenderer& answers_;
  outbox::OutboxRelay* const relay_;
  const bool outbox_shards_;
};

}  // namespace gateway
}  // namespace herald

#endif  // HERALD_GATEWAY_STORE_H_
