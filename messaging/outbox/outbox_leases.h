// File: messaging/outbox/outbox_leases.h
//
// Leases on the outbox's shards (PostgreSQL; see outbox_store.h), so that
// several relays, one per gateway, share the publishing: a relay publishes
// only rows of the shards it holds, one holder per shard at a time.
//
// Why a lease table, not advisory locks: a session lock lives on one
// connection, and the database layer hands out pooled connections for
// transactions; a row with an expiry works over any of them, survives a
// reconnect, and shows who holds what (SELECT * FROM outbox_leases).
//
// A round (every `lease`/4) runs in one transaction, on the database's
// clock: the relay records that it is alive (outbox_relays), renews the
// leases it holds for 3/4 of `lease`, gives back those it was asked to,
// counts the live relays N and takes free or expired shards up to its fair
// share ceil(kOutboxShards / N). A relay holding more than its share hears
// so and drains its surplus (outbox_relay.cc gives a shard back once its
// rows in flight are confirmed), so shards spread evenly as relays come and
// go. A relay that dies stops renewing: its leases expire within 3/4 of
// `lease` and the others take them on their next round, within `lease`.
//
// A relay trusts its leases only until `valid_until`, measured on its own
// clock from before the round started: past it (the database unreachable,
// say) it publishes nothing until a round succeeds again.
//
// Example:
//
//   ShardLeases leases(*db, "gw-1:4242", absl::Seconds(3));
//   absl::StatusOr<LeaseRound> round = leases.Round(/*give_back=*/{});
//   if (round.ok()) ... publish rows of round->held until round->valid_until
//   leases.ReleaseAll();  // on a clean stop: others take over at once
#ifndef HERALD_MESSAGING_OUTBOX_OUTBOX_LEASES_H_
#define HERALD_MESSAGING_OUTBOX_OUTBOX_LEASES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "database/database.h"

namespace herald {
namespace outbox {

struct LeaseRound {
  std::vector<int> held;  // shards held after the round, ascending
  int fair_share = 0;     // ceil(kOutboxShards / live relays)
  int live_relays = 0;
  absl::Time valid_until;  // local clock
};

class ShardLeases {
 public:
  ShardLeases(db::Database& db, std::string owner, absl::Duration lease);

  // One round (see the file comment); `give_back`: shards to release first.
  absl::StatusOr<LeaseRound> Round(const std::vector<int>& give_back);

  // Gives back every lease and leaves the live relays.
  absl::Status ReleaseAll();

  const std::string& owner() const { return owner_; }

 private:
  db::Database& db_;
  const std::string owner_;
  const absl::Duration lease_;
};

// A relay's name in the lease tables: host, process id and a random part.
std::string NewRelayOwnerName();

}  // namespace outbox
}  // namespace herald

#endif  // HERALD_MESSAGING_OUTBOX_OUTBOX_LEASES_H_
