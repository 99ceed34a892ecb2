#include "messaging/outbox/outbox_leases.h"

#include <unistd.h>

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "messaging/outbox/outbox_store.h"

namespace herald {
namespace outbox {
namespace {

// The database's clock, in milliseconds: every relay compares expiries on
// the same clock.
absl::StatusOr<int64_t> DatabaseNowMs(db::Transaction& tx) {
  absl::StatusOr<std::vector<db::Row>> rows =
      tx.Query("SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint");
  if (!rows.ok()) return rows.status();
  return (*rows)[0].Int(0);
}

}  // namespace

ShardLeases::ShardLeases(db::Database& db, std::string owner,
                         absl::Duration lease)
    : db_(db), owner_(std::move(owner)), lease_(lease) {}

absl::StatusOr<LeaseRound> ShardLeases::Round(
    const std::vector<int>& give_back) {
  const absl::Time started = absl::Now();
  const int64_t term_ms = absl::ToInt64Milliseconds(lease_) * 3 / 4;
  LeaseRound round;
  absl::Status s = db_.Transact([&](db::Transaction& tx) -> absl::Status {
    round = LeaseRound();
    absl::StatusOr<int64_t> now = DatabaseNowMs(tx);
    if (!now.ok()) return now.status();
    const int64_t until = *now + term_ms;
    absl::StatusOr<int64_t> r = tx.Execute(
        "INSERT INTO outbox_relays(owner, seen_until) VALUES (?, ?::bigint)"
        " ON CONFLICT (owner) DO UPDATE SET seen_until = EXCLUDED.seen_until",
        {owner_, until});
    if (!r.ok()) return r.status();
    // Relays gone for a minute leave the table.
    r = tx.Execute("DELETE FROM outbox_relays WHERE seen_until < ?::bigint",
                   {*now - 60000});
    if (!r.ok()) return r.status();
    for (int shard : give_back) {
      r = tx.Execute(
          "UPDATE outbox_leases SET owner = '', lease_until = 0"
          " WHERE shard = ?::integer AND owner = ?",
          {int64_t{shard}, owner_});
      if (!r.ok()) return r.status();
    }
    // Renew only leases still ours and unexpired: one that expired may have
    // a new holder already, or get one any moment.
    absl::StatusOr<std::vector<db::Row>> rows = tx.Query(
        "UPDATE outbox_leases SET lease_until = ?::bigint"
        " WHERE owner = ? AND lease_until >= ?::bigint RETURNING shard",
        {until, owner_, *now});
    if (!rows.ok()) return rows.status();
    for (const db::Row& row : *rows) {
      round.held.push_back(static_cast<int>(row.Int(0)));
    }
    rows = tx.Query(
        "SELECT COUNT(*) FROM outbox_relays WHERE seen_until >= ?::bigint",
        {*now});
    if (!rows.ok()) return rows.status();
    round.live_relays =
        static_cast<int>(std::max<int64_t>(1, (*rows)[0].Int(0)));
    round.fair_share =
        (kOutboxShards + round.live_relays - 1) / round.live_relays;
    const int wanted = round.fair_share - static_cast<int>(round.held.size());
    if (wanted > 0) {
      rows = tx.Query(
          "UPDATE outbox_leases SET owner = ?, lease_until = ?::bigint"
          " WHERE shard IN (SELECT shard FROM outbox_leases"
          " WHERE lease_until < ?::bigint ORDER BY shard LIMIT ?::integer"
          " FOR UPDATE SKIP LOCKED) RETURNING shard",
          {owner_, until, *now, int64_t{wanted}});
      if (!rows.ok()) return rows.status();
      for (const db::Row& row : *rows) {
        round.held.push_back(static_cast<int>(row.Int(0)));
      }
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  std::sort(round.held.begin(), round.held.end());
  round.valid_until = started + absl::Milliseconds(term_ms);
  return round;
}

absl::Status ShardLeases::ReleaseAll() {
  return db_.Transact([&](db::Transaction& tx) -> absl::Status {
    absl::StatusOr<int64_t> r = tx.Execute(
        "UPDATE outbox_leases SET owner = '', lease_until = 0"
        " WHERE owner = ?",
        {owner_});
    if (!r.ok()) return r.status();
    return tx.Execute("DELETE FROM outbox_relays WHERE owner = ?", {owner_})
        .status();
  });
}

std::string NewRelayOwnerName() {
  char host[64] = {0};
  gethostname(host, sizeof(host) - 1);
  std::random_device random;
  return absl::StrCat(host, ":", getpid(), ":", random() % 1000000);
}

}  // namespace outbox
}  // namespace herald
