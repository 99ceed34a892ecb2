// File: messaging/outbox/commit_notices.h
//
// Wake-ups across gateways (PostgreSQL): a gateway that committed outbox
// rows of shards another gateway's relay holds tells it so with
// NOTIFY herald_outbox, sent AFTER the commit, outside the writing
// transaction, one NOTIFY per batch of commits.
//
// Why not NOTIFY inside the writing transaction: PostgreSQL serializes the
// commits of every transaction that notified (a database-wide lock taken at
// commit for the notification queue), which halved the writers' rate. Sent
// afterwards by one thread per gateway, a notification costs the writers
// nothing and carries every shard committed meanwhile. At most one NOTIFY
// per 2 ms leaves a gateway: each sends every holder into a read of the
// table, and under load more commits share the next one.
//
// The payload lists shards with the highest number committed in each:
// "3:17,40:2" (kOutboxShards entries at most, well under PostgreSQL's 8000
// bytes). A gateway that dies between its commit and its NOTIFY leaves the
// row to the holder's polling (RelayOptions::idle_poll), as does any writer
// that announces nothing.
//
// Example:
//
//   CommitAnnouncer announcer(*db);       // a thread of its own
//   announcer.Announce(position.shard, position.seq);  // after the commit
//   // On the listening side:
//   for (const CommitNotice& n : ParseCommitNotices(payload)) ...
#ifndef HERALD_MESSAGING_OUTBOX_COMMIT_NOTICES_H_
#define HERALD_MESSAGING_OUTBOX_COMMIT_NOTICES_H_

#include <array>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "database/database.h"
#include "messaging/outbox/outbox_store.h"

namespace herald {
namespace outbox {

// The channel of the notifications.
inline constexpr char kCommitNoticeChannel[] = "herald_outbox";

// Shard `shard` has committed rows up to its number `seq`.
struct CommitNotice {
  int shard = 0;
  int64_t seq = 0;
};

// "shard:seq,shard:seq..." and back; malformed entries are left out.
std::string FormatCommitNotices(const std::vector<CommitNotice>& notices);
std::vector<CommitNotice> ParseCommitNotices(absl::string_view payload);

// Sends the notifications of one gateway, on a thread of its own, over the
// database's pool: Announce() never waits for the database.
class CommitAnnouncer {
 public:
  explicit CommitAnnouncer(db::Database& db);
  // Sends what is still queued, then stops.
  ~CommitAnnouncer();

  // Row `seq` of `shard` committed: announce it with the next NOTIFY.
  void Announce(int shard, int64_t seq);

  // Notifications sent (tests, benchmarks).
  int64_t sent() const;

 private:
  void Loop();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  db::Database& db_;
  mutable absl::Mutex mu_;
  // The highest number to announce per shard, 0 for none.
  std::array<int64_t, kOutboxShards> pending_ ABSL_GUARDED_BY(mu_){};
  bool any_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int64_t sent_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace outbox
}  // namespace herald

#endif  // HERALD_MESSAGING_OUTBOX_COMMIT_NOTICES_H_
