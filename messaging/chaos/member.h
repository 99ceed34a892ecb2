// File: messaging/chaos/member.h
//
// One member of the chaos test's consumer group, the same in the test
// process (several, on threads) and in the child process that the test kills
// with SIGKILL (messaging/chaos/chaos_member.cc). A member is a Consumer of
// `payment.created` whose handler, through the inbox, inserts one row into
// `chaos_effects` per record, in the same transaction as the claim
// (messaging/inbox/exactly_once.h: ExactlyOnceEach, or ExactlyOnce for batch
// runs), and fails as the fault plan says (messaging/chaos/plan.h). A
// failing attempt inserts its row too and returns its error from inside the
// transaction, so that the rollback of claim and effect is part of the test.
//
// The member counts attempts per record itself (a call in which the record's
// effect ran and that did not end in a dependency outage: what the consumer
// counts too) to look the fault up; a record handed to another member starts
// at attempt 1 there (the plan makes its outcome the same either way).
//
// Example:
//
//   MemberOptions options{brokers, "chaos-group", "sqlite:/tmp/c.db", "A",
//                         ParamsForSeed(7)};
//   absl::StatusOr<std::unique_ptr<ChaosMember>> member =
//       ChaosMember::Create(options);
//   std::thread t([&] { (*member)->Run().IgnoreError(); });
//   ...
//   (*member)->Stop();
//   t.join();
#ifndef HERALD_MESSAGING_CHAOS_MEMBER_H_
#define HERALD_MESSAGING_CHAOS_MEMBER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "database/database.h"
#include "messaging/chaos/plan.h"
#include "messaging/config.h"
#include "messaging/consumer.h"

namespace herald {
namespace chaos {

// The topic, its dead-letter topic and the inbox's consumer name.
inline constexpr char kTopic[] = "payment.created";
inline constexpr char kDeadLetterTopic[] = "payment.created.dlq";
inline constexpr char kInboxName[] = "chaos";

// The message of every planned failure starts so (and never mentions a
// lock: the test tells outage errors apart by that).
inline constexpr char kPlannedFailure[] = "chaos: planned";

// CreateSchema()
//
// The inbox and `chaos_effects(id autoincrement: the global order of
// handling, record, key_index, seq, kafka_partition, kafka_offset, member,
// handled_at ms)`. Run once before the members start.
absl::Status CreateSchema(db::Database& db);

struct MemberOptions {
  std::string brokers;
  std::string group;
  std::string db_url;  // sqlite:PATH?busy_timeout_ms=N
  std::string name;    // recorded in each effect row
  ChaosParams params;
};

// The consumer configuration every member uses: the same in all of them
// (the mock cluster aborts on mixed assignment strategies), with short
// session timeouts so that the mock's rebalances take about 2 s.
Config MemberConfig(const MemberOptions& options);

class ChaosMember {
 public:
  // Opens the database and subscribes; Run() joins the group.
  static absl::StatusOr<std::unique_ptr<ChaosMember>> Create(
      const MemberOptions& options);
  ~ChaosMember();

  // Consumes until Stop() (see Consumer::Run).
  absl::Status Run();
  void Stop();

  Consumer& consumer() { return *consumer_; }

 private:
  explicit ChaosMember(const MemberOptions& options);
  absl::Status Subscribe();
  // The effect, inside the claim's transaction.
  absl::Status Apply(db::Transaction& tx, const RecordId& id, int32_t partition,
                     int64_t offset);
  // Records the end of a handler call for `ids`.
  void EndCall(const std::vector<RecordId>& ids, const absl::Status& status);
  void Pause(const RecordId& id);

  const MemberOptions options_;
  std::unique_ptr<db::Database> db_;
  std::unique_ptr<Consumer> consumer_;

  absl::Mutex mu_;
  // Handler calls in which the record's effect ran (outages left out).
  absl::flat_hash_map<std::string, int> attempts_ ABSL_GUARDED_BY(mu_);
  // Records whose effect ran during their current call.
  absl::flat_hash_set<std::string> reached_ ABSL_GUARDED_BY(mu_);
};

}  // namespace chaos
}  // namespace herald

#endif  // HERALD_MESSAGING_CHAOS_MEMBER_H_
