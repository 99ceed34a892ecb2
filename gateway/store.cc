#include "gateway/store.h"

#include <boost/json.hpp>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "contracts/v1/notifications.pb.h"
#include "contracts/v1/payments.pb.h"
#include "contracts/v1/users.pb.h"
#include "database/delete_in_slices.h"
#include "gateway/api_error.h"
#include "messaging/cloudevents.h"
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

// A payment as the API shows it.
struct PaymentView {
  absl::string_view payment_id, user_id;
  int64_t amount;
  absl::string_view currency, status, reason;
  int64_t created_ms, updated_ms;
};

std::string Quoted(absl::string_view s) {
  return boost::json::serialize(boost::json::string_view(s.data(), s.size()));
}

// Written directly, not through a boost::json::object: it is on the hot
// path of every creation.
std::string PaymentJson(const PaymentView& p) {
  return absl::StrCat(
      R"({"payment_id":)", Quoted(p.payment_id), R"(,"user_id":)",
      Quoted(p.user_id), R"(,"amount":)", p.amount, R"(,"currency":)",
      Quoted(p.currency), R"(,"status":)", Quoted(p.status), R"(,"reason":)",
      Quoted(p.reason), R"(,"created_at":")",
      FormatEventTime(absl::FromUnixMillis(p.created_ms)),
      R"(","updated_at":")",
      FormatEventTime(absl::FromUnixMillis(p.updated_ms)), R"("})");
}

std::string PaymentJson(const db::Row& row) {
  const std::string payment_id = row.String(0), user_id = row.String(1),
                    currency = row.String(3), status = row.String(4),
                    reason = row.String(5);
  return PaymentJson({payment_id, user_id, row.Int(2), currency, status, reason,
                      row.Int(6), row.Int(7)});
}

constexpr char kSelectPayment[] =
    "SELECT payment_id, user_id, amount, currency, status, reason,"
    " created_at, updated_at FROM payments WHERE payment_id = ?";

absl::StatusOr<db::Row> LoadPayment(db::Transaction& tx,
                                    const std::string& id) {
  absl::StatusOr<std::vector<db::Row>> rows = tx.Query(kSelectPayment, {id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return WithApiCode(
        absl::NotFoundError(absl::StrCat("payment '", id, "' does not exist")),
        "payment_not_found");
  }
  return (*rows)[0];
}

}  // namespace

Store::Store(db::Database& db, std::string service)
    : db_(db), service_(std::move(service)) {}

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
  return {{1, "payments, users, idempotency keys", tables, tables},
          {2, "payments without rowid (SQLite)", payments_by_id, ""},
          {3, "idempotency keys by age (pruning)", keys_by_age, keys_by_age}};
}

void Store::Write(std::optional<IdempotencyKey> key, Outcome prepared,
                  Work work, OutcomeCallback done, bool is_retry) {
  struct State {
    std::optional<IdempotencyKey> key;
    Work work;
    OutcomeCallback done;
    Outcome outcome;
    std::optional<Outcome> replayed;
  };
  auto state = std::make_shared<State>(State{std::move(key),
                                             std::move(work),
                                             std::move(done),
                                             std::move(prepared),
                                             {}});
  db_.TransactAsync(
      [this, state](db::Transaction& tx) {
        return WriteOnce(tx, state->key, state->work, state->outcome,
                         state->replayed);
      },
      [this, state, is_retry](absl::Status status) {
        if (status.code() == absl::StatusCode::kAlreadyExists &&
            state->key.has_value() && !is_retry) {
          // A concurrent request with the same key committed first: answer
          // with what it stored.
          return Write(std::move(state->key), std::move(state->outcome),
                       std::move(state->work), std::move(state->done), true);
        }
        if (!status.ok()) return state->done(status);
        if (state->replayed.has_value()) {
          return state->done(*std::move(state->replayed));
        }
        state->done(std::move(state->outcome));
      });
}

absl::Status Store::WriteOnce(db::Transaction& tx,
                              const std::optional<IdempotencyKey>& key,
                              const Work& work, Outcome& outcome,
                              std::optional<Outcome>& replayed) {
  replayed.reset();
  if (key.has_value()) {
    absl::StatusOr<std::vector<db::Row>> rows = tx.Query(
        "SELECT route, fingerprint, http_status, body"
        " FROM idempotency_keys WHERE idem_key = ?",
        {key->key});
    if (!rows.ok()) return rows.status();
    if (!rows->empty()) {
      const db::Row& row = (*rows)[0];
      if (row.String(0) != key->route || row.String(1) != key->fingerprint) {
        return WithApiCode(
            absl::FailedPreconditionError(
                "this Idempotency-Key was already used for a different "
                "request"),
            "idempotency_key_reused");
      }
      replayed.emplace();
      replayed->http_status = static_cast<int>(row.Int(2));
      replayed->body = row.String(3);
      return absl::OkStatus();  // no event: the first request emitted it
    }
  }
  absl::Status s = work(tx, outcome);
  if (!s.ok()) return s;
  if (outcome.event.has_value()) {
    s = outbox::AppendToOutbox(tx, *outcome.event, &outcome.outbox_id);
    if (!s.ok()) return s;
  }
  if (key.has_value()) {
    absl::StatusOr<int64_t> r = tx.Execute(
        "INSERT INTO idempotency_keys(idem_key, route, fingerprint,"
        " http_status, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        {key->key, key->route, key->fingerprint,
         static_cast<int64_t>(outcome.http_status), outcome.body,
         absl::ToUnixMillis(absl::Now())});
    if (!r.ok()) return r.status();
  }
  return absl::OkStatus();
}

// Creation writes prepare everything they can (id, event, answer) before
// the transaction: the database thread that runs every group commit then
// does little more than the INSERTs.
void Store::CreatePayment(gateway::CreatePayment request,
                          std::optional<IdempotencyKey> key,
                          OutcomeCallback done) {
  absl::Time now = absl::Now();
  int64_t ms = absl::ToUnixMillis(now);
  std::string id = NewId("pay_");
  contracts::v1::PaymentCreated event;
  event.set_payment_id(id);
  event.set_user_id(request.user_id);
  event.set_amount(request.amount);
  event.set_currency(request.currency);
  SetTimestamp(event.mutable_created_at(), now);
  absl::StatusOr<outbox::OutboxRow> encoded =
      outbox::EncodeOutboxRow(event, service_);
  if (!encoded.ok()) return done(encoded.status());
  Outcome outcome;
  outcome.http_status = 201;
  outcome.body = PaymentJson({id, request.user_id, request.amount,
                              request.currency, "pending", "", ms, ms});
  outcome.event = *std::move(encoded);
  std::vector<db::Value> row = {std::move(id),
                                std::move(request.user_id),
                                request.amount,
                                std::move(request.currency),
                                ms,
                                ms};
  Write(
      std::move(key), std::move(outcome),
      [row = std::move(row)](db::Transaction& tx, Outcome&) -> absl::Status {
        return tx
            .Execute(
                "INSERT INTO payments(payment_id, user_id, amount, currency,"
                " status, reason, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'pending', '', ?, ?)",
                row)
            .status();
      },
      std::move(done));
}

void Store::UpdatePaymentStatus(std::string payment_id,
                                gateway::UpdatePaymentStatus request,
                                std::optional<IdempotencyKey> key,
                                OutcomeCallback done) {
  Write(
      std::move(key), Outcome(),
      [this, payment_id = std::move(payment_id), request = std::move(request)](
          db::Transaction& tx, Outcome& outcome) -> absl::Status {
        absl::StatusOr<db::Row> current = LoadPayment(tx, payment_id);
        if (!current.ok()) return current.status();
        std::string old_status = current->String(4);
        if (old_status != "pending" || request.status == "pending") {
          return WithApiCode(
              absl::FailedPreconditionError(absl::StrCat(
                  "payment '", payment_id, "' cannot move from ", old_status,
                  " to ", request.status,
                  " (allowed: pending -> succeeded | failed | canceled)")),
              "invalid_transition");
        }
        absl::Time now = absl::Now();
        // Conditional on the status we read: a concurrent change makes it 0.
        absl::StatusOr<int64_t> changed = tx.Execute(
            "UPDATE payments SET status = ?, reason = ?, updated_at = ?"
            " WHERE payment_id = ? AND status = ?",
            {request.status, request.reason, absl::ToUnixMillis(now),
             payment_id, old_status});
        if (!changed.ok()) return changed.status();
        if (*changed != 1) {
          return WithApiCode(absl::FailedPreconditionError(
                                 "payment changed concurrently; try again"),
                             "conflict");
        }
        contracts::v1::PaymentUpdated event;
        event.set_payment_id(payment_id);
        event.set_old_status(old_status);
        event.set_new_status(request.status);
        event.set_reason(request.reason);
        SetTimestamp(event.mutable_updated_at(), now);
        absl::StatusOr<outbox::OutboxRow> encoded =
            outbox::EncodeOutboxRow(event, service_);
        if (!encoded.ok()) return encoded.status();
        outcome.http_status = 200;
        const std::string user_id = current->String(1),
                          currency = current->String(3);
        outcome.body = PaymentJson({payment_id, user_id, current->Int(2),
                                    currency, request.status, request.reason,
                                    current->Int(6), absl::ToUnixMillis(now)});
        outcome.event = *std::move(encoded);
        return absl::OkStatus();
      },
      std::move(done));
}

void Store::RegisterUser(gateway::RegisterUser request,
                         std::optional<IdempotencyKey> key,
                         OutcomeCallback done) {
  absl::Time now = absl::Now();
  std::string id = NewId("user_");
  contracts::v1::UserRegistered event;
  event.set_user_id(id);
  event.set_email(request.email);
  event.set_name(request.name);
  SetTimestamp(event.mutable_registered_at(), now);
  absl::StatusOr<outbox::OutboxRow> encoded =
      outbox::EncodeOutboxRow(event, service_);
  if (!encoded.ok()) return done(encoded.status());
  boost::json::object o;
  o["user_id"] = id;
  o["email"] = request.email;
  o["name"] = request.name;
  o["registered_at"] = FormatEventTime(now);
  Outcome outcome;
  outcome.http_status = 201;
  outcome.body = boost::json::serialize(o);
  outcome.event = *std::move(encoded);
  Write(
      std::move(key), std::move(outcome),
      [request = std::move(request), id = std::move(id),
       ms = absl::ToUnixMillis(now)](db::Transaction& tx,
                                     Outcome&) -> absl::Status {
        absl::StatusOr<int64_t> r = tx.Execute(
            "INSERT INTO users(user_id, email, name, registered_at)"
            " VALUES (?, ?, ?, ?)",
            {id, request.email, request.name, ms});
        if (!r.ok()) {
          if (r.status().code() == absl::StatusCode::kAlreadyExists) {
            // Not AlreadyExists: that code means "same idempotency key".
            return WithApiCode(
                absl::FailedPreconditionError(absl::StrCat(
                    "email '", request.email, "' is already registered")),
                "email_taken");
          }
          return r.status();
        }
        return absl::OkStatus();
      },
      std::move(done));
}

void Store::RequestEmail(SendEmail request, std::optional<IdempotencyKey> key,
                         OutcomeCallback done) {
  contracts::v1::EmailNotification event;
  event.set_to(request.to);
  event.set_subject(request.subject);
  event.set_body(request.body);
  if (request.template_name.has_value()) {
    event.set_template_name(*request.template_name);
    for (const auto& [name, value] : request.variables) {
      (*event.mutable_template_variables())[name] = value;
    }
  }
  absl::StatusOr<outbox::OutboxRow> encoded =
      outbox::EncodeOutboxRow(event, service_);
  if (!encoded.ok()) return done(encoded.status());
  boost::json::object o;
  o["status"] = "accepted";
  o["event_id"] = std::string(encoded->event_id());
  Outcome outcome;
  outcome.http_status = 202;
  outcome.body = boost::json::serialize(o);
  outcome.event = *std::move(encoded);
  Write(
      std::move(key), std::move(outcome),
      [](db::Transaction&, Outcome&) { return absl::OkStatus(); },
      std::move(done));
}

absl::StatusOr<std::string> Store::GetPayment(const std::string& payment_id) {
  // A read: on the reader connection, not queued behind a group commit.
  return db_.ReadValue<std::string>(
      [&](db::Transaction& tx) -> absl::StatusOr<std::string> {
        absl::StatusOr<db::Row> row = LoadPayment(tx, payment_id);
        if (!row.ok()) return row.status();
        return PaymentJson(*row);
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
