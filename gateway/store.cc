#include "gateway/store.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "contracts/v1/notifications.pb.h"
#include "contracts/v1/payments.pb.h"
#include "contracts/v1/realtime.pb.h"
#include "contracts/v1/users.pb.h"
#include "database/delete_in_slices.h"
#include "gateway/auth/api_keys.h"
#include "messaging/outbox/outbox_relay.h"
#include "messaging/outbox/outbox_store.h"

namespace herald {
namespace gateway {
namespace {

// `prefix` + 32 hex digits laid out as a UUIDv7 (RFC 9562): 48 bits of Unix
// milliseconds, then random bits. Ids made later sort later, so new rows go
// to the right edge of the primary-key index instead of a random page each:
// a group commit then rewrites a few pages, not one per request.
std::string NewId(absl::string_view prefix) {
  thread_local absl::BitGen gen;
  uint64_t millis = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now()));
  uint64_t hi =
      (millis << 16) | 0x7000 | (absl::Uniform<uint64_t>(gen) & 0xfff);
  uint64_t lo = (absl::Uniform<uint64_t>(gen) & 0x3fffffffffffffffULL) |
                0x8000000000000000ULL;  // variant 1
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(prefix);
  for (uint64_t bits : {hi, lo}) {
    for (int i = 15; i >= 0; --i) id.push_back(kHex[(bits >> (i * 4)) & 0xf]);
  }
  return id;
}

void SetTimestamp(google::protobuf::Timestamp* ts, absl::Time time) {
  int64_t nanos = absl::ToUnixNanos(time);
  ts->set_seconds(nanos / 1000000000);
  ts->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

constexpr char kSelectPayment[] =
    "SELECT payment_id, user_id, amount, currency, status, reason,"
    " created_at, updated_at FROM payments WHERE payment_id = ?";

// The payment `id`, or nothing when there is no such payment.
absl::StatusOr<std::optional<Payment>> LoadPayment(db::Transaction& tx,
                                                   const std::string& id) {
  absl::StatusOr<std::vector<db::Row>> rows = tx.Query(kSelectPayment, {id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::nullopt;
  const db::Row& row = (*rows)[0];
  Payment payment;
  payment.payment_id = row.String(0);
  payment.user_id = row.String(1);
  payment.amount = row.Int(2);
  payment.currency = row.String(3);
  payment.status = row.String(4);
  payment.reason = row.String(5);
  payment.created_at = absl::FromUnixMillis(row.Int(6));
  payment.updated_at = absl::FromUnixMillis(row.Int(7));
  return payment;
}

// The status a transaction body returns when its write is rejected by the
// domain (the rejection itself is in the Write): the body's work rolls
// back. Its code is none that a database retries (Aborted, Unavailable) or
// that means a concurrent use of the same key (AlreadyExists); its payload
// tells it from a database failure of the same code.
constexpr char kRejectedPayload[] = "herald.dev/gateway-rejected";

absl::Status RejectedStatus() {
  absl::Status status =
      absl::FailedPreconditionError("write rejected by the domain");
  status.SetPayload(kRejectedPayload, absl::Cord());
  return status;
}

bool IsRejected(const absl::Status& status) {
  return status.GetPayload(kRejectedPayload).has_value();
}

// One write in progress, shared by its transaction body and its callback.
template <typename Result>
struct Write {
  std::optional<IdempotencyKey> key;
  // Writes the domain rows and, unless they were prepared, fills in
  // `answer` and `event`; or returns Reject(outcome). A body may run more
  // than once (a batch retried), so it must not consume what it captured.
  std::function<absl::Status(db::Transaction&, Write&)> work;
  Done<Result> done;
  // The answer and the event: prepared before the transaction when they
  // are known then (creations), otherwise made by `work`. The database's
  // one writer thread moves them, it does not copy them.
  RecordedAnswer answer;
  std::optional<outbox::OutboxRow> event;
  outbox::RowPosition outbox_row;  // the event's row, once appended
  // Set when the write writes nothing: a replay (the transaction commits
  // nothing) or a rejection (it rolls back). `done` gets it instead of
  // Committed.
  std::optional<Result> unwritten;

  template <typename Outcome>
  absl::Status Reject(Outcome outcome) {
    unwritten.emplace(std::move(outcome));
    return RejectedStatus();
  }
};

// One run of a write's transaction body. A replayed key's stored answer
// goes to `unwritten`; otherwise `work` runs and the event goes to the
// outbox and the answer, with the key, to idempotency_keys.
template <typename Result>
absl::Status WriteOnce(db::Transaction& tx, Write<Result>& write,
                       bool outbox_shards) {
  write.unwritten.reset();
  const std::optional<IdempotencyKey>& key = write.key;
  if (key.has_value()) {
    absl::StatusOr<std::vector<db::Row>> rows = tx.Query(
        "SELECT route, fingerprint, http_status, body"
        " FROM idempotency_keys WHERE idem_key = ?",
        {key->key});
    if (!rows.ok()) return rows.status();
    if (!rows->empty()) {
      const db::Row& row = (*rows)[0];
      if (row.String(0) != key->route || row.String(1) != key->fingerprint) {
        return write.Reject(KeyReused{});
      }
      // No event: the first request emitted it.
      write.unwritten.emplace(Replayed{
          RecordedAnswer{static_cast<int>(row.Int(2)), row.String(3)}});
      return absl::OkStatus();
    }
  }
  absl::Status s = write.work(tx, write);
  if (!s.ok()) return s;
  if (key.has_value()) {
    absl::StatusOr<int64_t> r = tx.Execute(
        "INSERT INTO idempotency_keys(idem_key, route, fingerprint,"
        " http_status, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        {key->key, key->route, key->fingerprint,
         static_cast<int64_t>(write.answer.status), write.answer.body,
         absl::ToUnixMillis(absl::Now())});
    if (!r.ok()) return r.status();
  }
  // Last: on PostgreSQL the row takes its shard's number, whose lock the
  // shard's other writers wait for until this transaction ends
  // (messaging/outbox/outbox_store.h).
  if (write.event.has_value()) {
    s = outbox_shards
            ? outbox::AppendToOutbox(tx, *write.event, &write.outbox_row)
            : outbox::AppendToOutboxById(tx, *write.event, &write.outbox_row);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// Runs `write` in one transaction and calls its `done`; hands a committed
// event to `relay`.
template <typename Result>
void Submit(db::Database& db, outbox::OutboxRelay* relay, bool outbox_shards,
            std::shared_ptr<Write<Result>> write, bool is_retry = false) {
  db.TransactAsync(
      [write, outbox_shards](db::Transaction& tx) {
        return WriteOnce(tx, *write, outbox_shards);
      },
      [&db, relay, outbox_shards, write, is_retry](absl::Status status) {
        if (status.code() == absl::StatusCode::kAlreadyExists &&
            write->key.has_value() && !is_retry) {
          // A concurrent request with the same key committed first: answer
          // with what it stored.
          return Submit(db, relay, outbox_shards, write, /*is_retry=*/true);
        }
        if (write->unwritten.has_value() &&
            (status.ok() || IsRejected(status))) {
          return write->done(*std::move(write->unwritten));
        }
        if (!status.ok()) return write->done(status);
        if (write->event.has_value() && relay != nullptr) {
          // The relay publishes it from memory rather than reading it back.
          relay->Handoff(write->outbox_row, *std::move(write->event));
        }
        write->done(Committed{std::move(write->answer)});
      });
}

}  // namespace

Store::Store(db::Database& db, std::string service,
             const AnswerRenderer& answers, outbox::OutboxRelay* relay,
             bool outbox_shards)
    : db_(db),
      service_(std::move(service)),
      answers_(answers),
      relay_(relay),
      outbox_shards_(outbox_shards) {}

std::vector<db::Migration> Store::Migrations() {
  const std::string tables =
      "CREATE TABLE payments ("
      " payment_id TEXT PRIMARY KEY, user_id TEXT NOT NULL,"
      " amount BIGINT NOT NULL, currency TEXT NOT NULL,"
      " status TEXT NOT NULL, reason TEXT NOT NULL,"
      " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
      "CREATE TABLE users ("
      " user_id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE,"
      " name TEXT NOT NULL, registered_at BIGINT NOT NULL);"
      "CREATE TABLE idempotency_keys ("
      " idem_key TEXT PRIMARY KEY, route TEXT NOT NULL,"
      " fingerprint TEXT NOT NULL, http_status INTEGER NOT NULL,"
      " body TEXT NOT NULL, created_at BIGINT NOT NULL)";
  // SQLite: payments keyed by their id only (no separate rowid tree), one
  // b-tree less to write per payment.
  const std::string payments_by_id =
      "CREATE TABLE payments_v2 ("
      " payment_id TEXT PRIMARY KEY, user_id TEXT NOT NULL,"
      " amount BIGINT NOT NULL, currency TEXT NOT NULL,"
      " status TEXT NOT NULL, reason TEXT NOT NULL,"
      " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)"
      " WITHOUT ROWID;"
      "INSERT INTO payments_v2 SELECT payment_id, user_id, amount, currency,"
      " status, reason, created_at, updated_at FROM payments;"
      "DROP TABLE payments;"
      "ALTER TABLE payments_v2 RENAME TO payments";
  const std::string keys_by_age =
      "CREATE INDEX idempotency_keys_created"
      " ON idempotency_keys(created_at)";
  // Idempotency-Keys are scoped by API key: stored as "<key name>:<key>"
  // (gateway/gateway.cc). Those stored before keys existed belong to none.
  const std::string keys_of_no_api_key =
      "UPDATE idempotency_keys SET idem_key = ':' || idem_key";
  return {{1, "payments, users, idempotency keys", tables, tables},
          {2, "payments without rowid (SQLite)", payments_by_id, ""},
          {3, "idempotency keys by age (pruning)", keys_by_age, keys_by_age},
          auth::ApiKeysTableMigration(4),
          {5, "idempotency keys scoped by API key", keys_of_no_api_key,
           keys_of_no_api_key}};
}

// Creations prepare everything they can (id, event, answer) before the
// transaction: the database thread that runs every group commit then does
// little more than the INSERTs.
void Store::CreatePayment(gateway::CreatePayment command,
                          std::optional<IdempotencyKey> key,
                          Done<CreatePaymentResult> done) {
  const absl::Time now = absl::Now();
  const int64_t ms = absl::ToUnixMillis(now);
  Payment payment;
  payment.payment_id = NewId("pay_");
  payment.user_id = std::move(command.user_id);
  payment.amount = command.amount;
  payment.currency = std::move(command.currency);
  payment.status = "pending";
  payment.created_at = payment.updated_at = absl::FromUnixMillis(ms);
  contracts::v1::PaymentCreated event;
  event.set_payment_id(payment.payment_id);
  event.set_user_id(payment.user_id);
  event.set_amount(payment.amount);
  event.set_currency(payment.currency);
  SetTimestamp(event.mutable_created_at(), now);
  absl::StatusOr<outbox::OutboxRow> encoded =
      outbox::EncodeOutboxRow(event, service_);
  if (!encoded.ok()) return done(encoded.status());
  auto write = std::make_shared<Write<CreatePaymentResult>>();
  write->key = std::move(key);
  write->done = std::move(done);
  write->answer = answers_.PaymentCreated(payment);
  write->event = *std::move(encoded);
  std::vector<db::Value> row = {std::move(payment.payment_id),
                                std::move(payment.user_id),
                                payment.amount,
                                std::move(payment.currency),
                                ms,
                                ms};
  write->work = [row = std::move(row)](
                    db::Transaction& tx,
                    Write<CreatePaymentResult>&) -> absl::Status {
    return tx
        .Execute(
            "INSERT INTO payments(payment_id, user_id, amount, currency,"
            " status, reason, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 'pending', '', ?, ?)",
            row)
        .status();
  };
  Submit(db_, relay_, outbox_shards_, std::move(write));
}

void Store::UpdatePaymentStatus(std::string payment_id,
                                gateway::UpdatePaymentStatus command,
                                std::optional<IdempotencyKey> key,
                                Done<UpdatePaymentStatusResult> done) {
  auto write = std::make_shared<Write<UpdatePaymentStatusResult>>();
  write->key = std::move(key);
  write->done = std::move(done);
  write->work = [this, payment_id = std::move(payment_id),
                 command = std::move(command)](
                    db::Transaction& tx,
                    Write<UpdatePaymentStatusResult>& write) -> absl::Status {
    absl::StatusOr<std::optional<Payment>> current =
        LoadPayment(tx, payment_id);
    if (!current.ok()) return current.status();
    if (!current->has_value()) return write.Reject(PaymentNotFound{payment_id});
    Payment& payment = **current;
    if (payment.status != "pending" || command.status == "pending") {
      return write.Reject(
          TransitionNotAllowed{payment_id, payment.status, command.status});
    }
    const absl::Time now = absl::Now();
    const int64_t ms = absl::ToUnixMillis(now);
    // Conditional on the status we read: a concurrent change makes it 0.
    absl::StatusOr<int64_t> changed = tx.Execute(
        "UPDATE payments SET status = ?, reason = ?, updated_at = ?"
        " WHERE payment_id = ? AND status = ?",
        {command.status, command.reason, ms, payment_id, payment.status});
    if (!changed.ok()) return changed.status();
    if (*changed != 1) {
      return write.Reject(PaymentChangedConcurrently{payment_id});
    }
    contracts::v1::PaymentUpdated event;
    event.set_payment_id(payment_id);
    event.set_user_id(payment.user_id);
    event.set_old_status(payment.status);
    event.set_new_status(command.status);
    event.set_reason(command.reason);
    SetTimestamp(event.mutable_updated_at(), now);
    absl::StatusOr<outbox::OutboxRow> encoded =
        outbox::EncodeOutboxRow(event, service_);
    if (!encoded.ok()) return encoded.status();
    payment.status = command.status;
    payment.reason = command.reason;
    payment.updated_at = absl::FromUnixMillis(ms);
    write.answer = answers_.PaymentStatusChanged(payment);
    write.event = *std::move(encoded);
    return absl::OkStatus();
  };
  Submit(db_, relay_, outbox_shards_, std::move(write));
}

void Store::RegisterUser(gateway::RegisterUser command,
                         std::optional<IdempotencyKey> key,
                         Done<RegisterUserResult> done) {
  User user;
  user.user_id = NewId("user_");
  user.email = std::move(command.email);
  user.name = std::move(command.name);
  user.registered_at = absl::Now();
  contracts::v1::UserRegistered event;
  event.set_user_id(user.user_id);
  event.set_email(user.email);
  event.set_name(user.name);
  SetTimestamp(event.mutable_registered_at(), user.registered_at);
  absl::StatusOr<outbox::OutboxRow> encoded =
      outbox::EncodeOutboxRow(event, service_);
  if (!encoded.ok()) return done(encoded.status());
  auto write = std::make_shared<Write<RegisterUserResult>>();
  write->key = std::move(key);
  write->done = std::move(done);
  write->answer = answers_.UserRegistered(user);
  write->event = *std::move(encoded);
  write->work = [user = std::move(user)](
                    db::Transaction& tx,
                    Write<RegisterUserResult>& write) -> absl::Status {
    absl::StatusOr<int64_t> r = tx.Execute(
        "INSERT INTO users(user_id, email, name, registered_at)"
        " VALUES (?, ?, ?, ?)",
        {user.user_id, user.email, user.name,
         absl::ToUnixMillis(user.registered_at)});
    if (r.status().code() == absl::StatusCode::kAlreadyExists) {
      // Not passed on as AlreadyExists: that code means "same idempotency
      // key".
      return write.Reject(EmailTaken{user.email});
    }
    return r.status();
  };
  Submit(db_, relay_, outbox_shards_, std::move(write));
}

void Store::RequestEmail(SendEmail command, std::optional<IdempotencyKey> key,
                         Done<RequestEmailResult> done) {
  contracts::v1::EmailNotification event;
  event.set_to(command.to);
  event.set_subject(command.subject);
  event.set_body(command.body);
  if (command.template_name.has_value()) {
    event.set_template_name(*command.template_name);
    for (const auto& [name, value] : command.variables) {
      (*event.mutable_template_variables())[name] = value;
    }
  }
  absl::StatusOr<outbox::OutboxRow> encoded =
      outbox::EncodeOutboxRow(event, service_);
  if (!encoded.ok()) return done(encoded.status());
  auto write = std::make_shared<Write<RequestEmailResult>>();
  write->key = std::move(key);
  write->done = std::move(done);
  write->answer = answers_.EmailRequested(encoded->event_id());
  write->event = *std::move(encoded);
  write->work = [](db::Transaction&, Write<RequestEmailResult>&) {
    return absl::OkStatus();  // the event is all there is to write
  };
  Submit(db_, relay_, outbox_shards_, std::move(write));
}

void Store::PublishRealtime(PublishRealtimeMessage command,
                            std::optional<IdempotencyKey> key,
                            Done<PublishRealtimeResult> done) {
  contracts::v1::RealtimeMessage event;
  event.set_channel(command.channel);
  event.set_event(std::move(command.event));
  event.set_data_json(std::move(command.data_json));
  SetTimestamp(event.mutable_sent_at(), absl::Now());
  absl::StatusOr<outbox::OutboxRow> encoded =
      outbox::EncodeOutboxRow(event, service_);
  if (!encoded.ok()) return done(encoded.status());
  auto write = std::make_shared<Write<PublishRealtimeResult>>();
  write->key = std::move(key);
  write->done = std::move(done);
  write->answer =
      answers_.RealtimeMessagePublished(encoded->event_id(), command.channel);
  write->event = *std::move(encoded);
  write->work = [](db::Transaction&, Write<PublishRealtimeResult>&) {
    return absl::OkStatus();  // the event is all there is to write
  };
  Submit(db_, relay_, outbox_shards_, std::move(write));
}

absl::StatusOr<GetPaymentResult> Store::GetPayment(
    const std::string& payment_id) {
  // A read: on the reader connection, not queued behind a group commit.
  return db_.ReadValue<GetPaymentResult>(
      [&](db::Transaction& tx) -> absl::StatusOr<GetPaymentResult> {
        absl::StatusOr<std::optional<Payment>> payment =
            LoadPayment(tx, payment_id);
        if (!payment.ok()) return payment.status();
        if (!payment->has_value()) return PaymentNotFound{payment_id};
        return **std::move(payment);
      });
}

absl::StatusOr<int64_t> Store::PruneIdempotencyKeys(absl::Time cutoff) {
  return db::DeleteInSlices(
      db_,
      "DELETE FROM idempotency_keys WHERE idem_key IN"
      " (SELECT idem_key FROM idempotency_keys WHERE created_at < ? LIMIT ?)",
      {absl::ToUnixMillis(cutoff)});
}

}  // namespace gateway
}  // namespace herald
