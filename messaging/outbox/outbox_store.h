// File: messaging/outbox/outbox_store.h
//
// The transactional outbox table. A service writes its domain rows and the
// encoded events they cause in ONE transaction (AppendToOutbox), answers its
// caller, and the relay (outbox_relay.h) later publishes the pending rows to
// Kafka in id order and records their delivery. A crash anywhere loses
// nothing: a committed row stays pending until a delivery report confirms it.
//
// PostgreSQL, several gateways: each row carries a shard, ShardOf(its key),
// and a per-shard sequence number taken, in the writing transaction, from
// the shard's row of `outbox_shards` (UPDATE ... RETURNING): that row stays
// locked until the writer commits, so the writers of one shard commit one
// after the other, and a shard's numbers are gapless (a rollback returns
// its number) and become visible in order. A relay that has seen number n
// of a shard has seen every row before it: no late commit is ever skipped
// or overtaken. A transaction appending rows of several shards holds
// several numbers' locks: append them in shard order, or two such
// transactions may deadlock (PostgreSQL then aborts one, after
// deadlock_timeout, and Transact retries it). Relays lease shards
// (outbox_leases.h). After the commit,
// the writer's relay (OutboxRelay::Handoff) publishes the row itself when
// it holds the shard, and otherwise announces it to the holder with a
// NOTIFY (commit_notices.h).
//
// A row is published when its id is at most the relay position (SQLite,
// where ids become visible in commit order: like a consumer offset, one
// small write per batch) or it carries its own published_at mark (rows
// confirmed out of order, and every row on PostgreSQL, where a lower id can
// commit after a higher one).
//
// Example:
//
//   absl::StatusOr<herald::outbox::OutboxRow> row =
//       herald::outbox::EncodeOutboxRow(payment_created, "gateway");
//   if (!row.ok()) return row.status();
//   int64_t id = 0;
//   absl::Status s = db->Transact([&](herald::db::Transaction& tx) {
//     ... insert the payment row ...
//     return herald::outbox::AppendToOutbox(tx, *row, &id);
//   });
//   // Optional: publish it now, without the relay reading it back.
//   if (s.ok()) relay->Handoff(id, *std::move(row));
#ifndef HERALD_MESSAGING_OUTBOX_OUTBOX_STORE_H_
#define HERALD_MESSAGING_OUTBOX_OUTBOX_STORE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "database/database.h"
#include "database/migrations.h"
#include "google/protobuf/message.h"
#include "messaging/envelope.h"

namespace herald {
namespace outbox {

// The schema, applied with db::Migrate(db, "outbox", OutboxMigrations()).
std::vector<db::Migration> OutboxMigrations();

// The number of shards of PostgreSQL's outbox: fixed, because a key's shard
// must never change while its rows are pending. More shards than relays
// ever run, so that leases spread evenly.
constexpr int kOutboxShards = 64;
// The shard of a partition key (FNV-1a, mod kOutboxShards).
int ShardOf(absl::string_view key);

// Where AppendToOutbox put a row: its id, and (PostgreSQL) its shard and
// number in the shard (0 on SQLite).
struct RowPosition {
  int64_t id = 0;
  int shard = 0;
  int64_t seq = 0;
};

// Adds `message` as a pending row, inside the caller's transaction; with
// `id`, stores the new row's id there (for OutboxRelay::Handoff).
absl::Status AppendToOutbox(db::Transaction& tx, const OutgoingMessage& message,
                            int64_t* id = nullptr);

// An event encoded as its outbox row: made on the thread that has the event
// (so that the database's single writer thread only inserts it), inserted by
// AppendToOutbox (which may run more than once), and published by the relay
// as it is, headers included, without decoding it into an OutgoingMessage.
struct OutboxRow {
  // The INSERT's parameters: event_id, topic, msg_key, headers (the
  // EncodeHeaders format), value, created_at.
  std::vector<db::Value> values;

  absl::string_view event_id() const;
  absl::string_view topic() const;
  absl::string_view key() const;
  absl::string_view headers() const;
  absl::string_view value() const;
};
OutboxRow PrepareOutboxRow(const OutgoingMessage& message);
// Encodes `event` as EncodeEvent would (new event id, current time, topic
// and key from its contract), straight into a row.
absl::StatusOr<OutboxRow> EncodeOutboxRow(
    const google::protobuf::Message& event, absl::string_view source);
absl::Status AppendToOutbox(db::Transaction& tx, const OutboxRow& row,
                            int64_t* id = nullptr);
absl::Status AppendToOutbox(db::Transaction& tx, const OutboxRow& row,
                            RowPosition* position);
// PostgreSQL, one gateway alone (its relay with RelayOptions::shard_leases
// false): the row by id, with no shard number, as before several gateways
// could share a database. The baseline of the cost of coordination
// (tools/bench), not for production: a second gateway's relay would publish
// the same rows. On SQLite, the same as AppendToOutbox.
absl::Status AppendToOutboxById(db::Transaction& tx, const OutboxRow& row,
                                RowPosition* position);
// The row as a message (e.g. to look at its headers).
absl::StatusOr<OutgoingMessage> ToMessage(const OutboxRow& row);

// A row waiting to be published.
struct PendingRow {
  int64_t id = 0;
  absl::Time created_at;
  OutboxRow row;
  int shard = 0;    // PostgreSQL
  int64_t seq = 0;  // PostgreSQL: number in the shard
};

// Up to `limit` pending rows with id > `after_id`, oldest first.
absl::StatusOr<std::vector<PendingRow>> FetchPending(db::Database& db,
                                                     int64_t after_id,
                                                     int limit);

// PostgreSQL: pending rows of some shards, each shard's after its number
// `after` (in number order, up to `per_shard_limit` per shard), read on one
// snapshot with each shard's last number: a shard that returned fewer rows
// than the limit has no pending row up to `last_seq`.
struct ShardCursor {
  int shard = 0;
  int64_t after = 0;
};
struct ShardScan {
  std::vector<PendingRow> rows;
  std::vector<std::pair<int, int64_t>> last_seq;  // (shard, last number)
};
absl::StatusOr<ShardScan> FetchPendingInShards(
    db::Database& db, const std::vector<ShardCursor>& cursors,
    int per_shard_limit);

// Records confirmed deliveries in one transaction: with `through` > 0 it
// moves the relay position there (every row up to it is published, with no
// mark of its own), and it marks each of `ids` above the position.
absl::Status MarkPublished(db::Database& db, const std::vector<int64_t>& ids,
                           int64_t through = 0);

// The relay position: every row with an id up to it is published.
absl::StatusOr<int64_t> ReadPublishedThrough(db::Database& db);

// Deletes published rows created before `cutoff`; returns how many.
absl::StatusOr<int64_t> PrunePublished(db::Database& db, absl::Time cutoff);

struct Backlog {
  int64_t pending = 0;
  // Age of the oldest pending row (zero when none).
  absl::Duration oldest_age;
};
absl::StatusOr<Backlog> ReadBacklog(db::Database& db);
// The same, per topic (topics with no pending row are left out).
absl::StatusOr<std::map<std::string, Backlog>> ReadBacklogByTopic(
    db::Database& db);

// Headers as a row stores them, compactly: the CloudEvents names and the
// values every record repeats take a byte each, and a ce_id equal to the
// row's `event_id` is not stored twice. Decoding also reads the format that
// rows written by earlier versions hold.
std::string EncodeHeaders(const Headers& headers, absl::string_view event_id);
absl::StatusOr<Headers> DecodeHeaders(absl::string_view encoded,
                                      absl::string_view event_id);
// Calls `visit(name, value)` for each encoded header, in order, copying
// nothing; DataLoss if `encoded` is corrupt (after visiting what precedes).
absl::Status VisitHeaders(
    absl::string_view encoded, absl::string_view event_id,
    absl::FunctionRef<void(absl::string_view, absl::string_view)> visit);

}  // namespace outbox
}  // namespace herald

#endif  // HERALD_MESSAGING_OUTBOX_OUTBOX_STORE_H_
