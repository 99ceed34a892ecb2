// File: messaging/chaos/plan.h
//
// Everything a chaos run derives from its seed, so that one number replays
// it: the shape of the run (records, partitions, keys, ordering,
// concurrency, single or batch handlers), a deterministic random sequence
// for the test's timeline, and the fault plan, which says what each attempt
// at each record meets. The test process and the child member binary both
// read their plan from here, so they agree without talking.
//
// Records are PaymentCreated events: the key `payment_id` is "k<key>", the
// `amount` is the record's sequence number within its key (from 1).
//
// The fault plan depends only on (seed, key, sequence, attempt), where the
// attempt is counted by the member that runs it (a record handed to another
// member starts again at attempt 1). A record therefore always ends the same
// way, whichever member runs it: handled, or dead-lettered (a Permanent
// error, or a transient error on every one of its max_attempts attempts).
//
// Example:
//
//   ChaosParams params = ParamsForSeed(42);
//   RecordId id{3, 7};
//   if (FaultFor(params, id, /*attempt=*/1) == Fault::kTransient) ...
//   bool dead = PlannedDeadLetter(params, id);
#ifndef HERALD_MESSAGING_CHAOS_PLAN_H_
#define HERALD_MESSAGING_CHAOS_PLAN_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "messaging/config.h"

namespace herald {
namespace chaos {

// Mix()
//
// A stable 64-bit hash of its arguments (SplitMix64 steps): the same in
// every process and build, unlike absl::Hash.
uint64_t Mix(uint64_t a, uint64_t b = 0, uint64_t c = 0, uint64_t d = 0);

// A deterministic random sequence (SplitMix64).
class ChaosRandom {
 public:
  explicit ChaosRandom(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [lo, hi] (inclusive).
  int64_t Uniform(int64_t lo, int64_t hi);
  // True with probability `p`.
  bool Chance(double p);

 private:
  uint64_t state_;
};

// The shape of one run.
struct ChaosParams {
  uint64_t seed = 0;
  int records = 0;     // good records, over all keys
  int garbage = 0;     // undecodable records besides them
  int partitions = 0;  // of the topic
  int keys = 0;
  Ordering ordering = Ordering::kPartition;
  int concurrency = 1;
  bool batch = false;  // SubscribeBatch + ExactlyOnce, else ExactlyOnceEach
  int batch_size = 1;
  int batch_wait_ms = 0;
  int max_attempts = 3;
  int max_in_flight = 1000;
  // Each handler call first waits up to this long (its share of the work).
  int handler_delay_us = 0;

  // One line for logs: "partition ordering, concurrency 1, single ...".
  std::string Describe() const;
};

// ParamsForSeed()
//
// The run of `seed`. Its ordering and handler shape cycle with seed % 3:
// 0 partition ordering with single-record handlers, 1 key ordering with
// single-record handlers (concurrency > 1), 2 batch handlers (key or
// partition ordering).
ChaosParams ParamsForSeed(uint64_t seed);

// One record of a run.
struct RecordId {
  int key = 0;               // 0..keys-1
  int64_t seq = 0;           // 1.. within its key
  std::string Name() const;  // "k<key>#<seq>"
  bool operator==(const RecordId& o) const {
    return key == o.key && seq == o.seq;
  }
};

// The `payment_id` of records of `key`: "k<key>".
std::string KeyName(int key);

// The record behind an event's key and amount, if it is one of the run's.
std::optional<RecordId> ParseRecord(absl::string_view payment_id,
                                    int64_t amount);

enum class Fault {
  kNone,       // the handler succeeds
  kTransient,  // a plain error: retried, counted against the attempts
  kPermanent,  // herald::Permanent: dead-lettered at once
};

// FaultFor()
//
// What attempt number `attempt` (1-based) at `record` meets.
Fault FaultFor(const ChaosParams& params, const RecordId& record, int attempt);

// True when `record` ends in the dead-letter topic (by plan, whatever
// member runs it); false when it is handled.
bool PlannedDeadLetter(const ChaosParams& params, const RecordId& record);

// How long a handler call for `record` at `attempt` waits before its work.
int HandlerDelayUs(const ChaosParams& params, const RecordId& record,
                   int attempt);

}  // namespace chaos
}  // namespace herald

#endif  // HERALD_MESSAGING_CHAOS_PLAN_H_
