// File: messaging/outbox/outbox_relay.h
//
// Publishes pending outbox rows to Kafka and records each row's delivery
// report in the table (a position, or a mark per row: see outbox_store.h).
// Rows go out through one idempotent producer, in the order the relay finds
// them committed:
//
// - SQLite: ids become visible in commit order, so rows go out in id order.
// - PostgreSQL: several relays (one per gateway) share the rows by shard
//   (outbox_store.h): each publishes only the shards it leases
//   (outbox_leases.h), each shard in the order its rows committed, from a
//   cursor per shard. A shard that changes hands is given back only once
//   its rows in flight are confirmed, so a row goes out once unless a relay
//   dies (or loses its lease) with rows in flight. A row handed off
//   (Handoff) in a shard another relay holds is announced to it after the
//   commit (NOTIFY herald_outbox, commit_notices.h); the relay LISTENs and
//   scans the shards it was told of; polling stays as the fallback.
//
// Either way, rows of one key go out in the order they committed (rows
// written concurrently commit in either order).
//
// - Kafka unreachable: rows wait in librdkafka (the relay's producer never
//   times a message out) and in the table; the relay stops fetching at
//   `max_in_flight` and resumes as deliveries complete.
// - Process killed: on the next start every row not yet marked is published
//   again (at least once; consumers dedupe on ce_id).
// - SQLite: one relay per database file. It holds an exclusive lock on
//   PATH.relay.lock (released by the kernel when the process dies, even by
//   kill -9); a second relay on the file, i.e. a second gateway, fails to
//   start with FailedPrecondition naming the `db` setting.
// - Fatal producer error (e.g. the broker came back with a new identity):
//   the producer is recreated and the unmarked rows are sent again.
//
// Example:
//
//   auto relay = herald::outbox::OutboxRelay::Start(*db, config, {});
//   ... commit rows, then relay->Notify() to publish without waiting ...
#ifndef HERALD_MESSAGING_OUTBOX_OUTBOX_RELAY_H_
#define HERALD_MESSAGING_OUTBOX_OUTBOX_RELAY_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/settings.h"
#include "database/database.h"
#include "messaging/config.h"
#include "messaging/outbox/outbox_store.h"

namespace herald {
namespace outbox {

struct RelayOptions {
  int batch_size = 500;
  int max_in_flight = 20000;
  // How often an idle relay looks for rows nobody announced with Notify().
  absl::Duration idle_poll = absl::Milliseconds(200);
  // Published rows are deleted once this old (counted from when they were
  // written).
  absl::Duration retention = absl::Hours(24);
  absl::Duration prune_every = absl::Minutes(1);
  // PostgreSQL: a dead relay's shards are taken over within this
  // (outbox_leases.h).
  absl::Duration lease = absl::Milliseconds(3000);
  // PostgreSQL: false runs the relay of one gateway alone, by id, without
  // shards or leases, for rows written without shards (AppendToOutboxById,
  // which the gateway then uses): tools/bench's baseline of the cost of
  // coordination, not a setting.
  bool shard_leases = true;
};

// The settings keys of `options` (outbox.retention_hours, outbox.lease_ms;
// base/settings.h).
std::vector<settings::Key> OutboxKeys(RelayOptions& options);

struct RelayStats {
  int64_t published = 0;         // rows confirmed since start
  int64_t publish_failures = 0;  // delivery errors (rows retried later)
  int64_t in_flight = 0;
  int64_t producer_restarts = 0;
  int64_t handed_off = 0;  // rows published from a Handoff, not a scan
  int shards_held = 0;     // PostgreSQL: leases held (outbox_leases.h)
  bool kafka_reachable = true;
};

class OutboxRelay {
 public:
  // Starts the relay thread. `config` supplies brokers and producer settings.
  static absl::StatusOr<std::unique_ptr<OutboxRelay>> Start(
      db::Database& db, const Config& config, RelayOptions options = {});
  ~OutboxRelay();

  // New rows were committed: look now instead of at the next poll.
  void Notify();

  // Row `id`, holding `row`, was just committed: publish it from memory
  // instead of reading it back (the writer had it at hand). Rows handed off
  // are published in id order after every row the relay found by itself;
  // when it cannot take one (no room, or catching up on a backlog), the row
  // waits in the table for the next scan, as an announced one would.
  void Handoff(int64_t id, OutboxRow row);
  // The same with the row's shard and number (PostgreSQL: a handoff without
  // them waits for a scan). A row of a shard this relay does not hold is
  // announced to its holder instead (commit_notices.h): call Handoff for
  // every row committed, so that the other gateways hear of it at once.
  void Handoff(const RowPosition& position, OutboxRow row);

  // Stops the thread; rows in flight stay pending in the table (they are
  // published again on the next start) unless delivered before the stop.
  void Stop();

  RelayStats Stats() const;

  // Stops like a process that died: its leases stay until they expire
  // (tests of the takeover).
  void StopWithoutReleasingForTesting();

  // Makes the current producer fail fatally (tests of the recovery path).
  void InjectFatalErrorForTesting();

 private:
  class Impl;
  explicit OutboxRelay(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace outbox
}  // namespace herald

#endif  // HERALD_MESSAGING_OUTBOX_OUTBOX_RELAY_H_
