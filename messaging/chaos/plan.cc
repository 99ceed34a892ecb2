#include "messaging/chaos/plan.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace herald {
namespace chaos {
namespace {

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Per-record fault classes, in basis points of all records.
constexpr uint64_t kPermanentBp = 150;    // Permanent (maybe after a retry)
constexpr uint64_t kExhaustBp = 200;      // transient on every attempt
constexpr uint64_t kRecoveringBp = 1200;  // transient a few times, then OK

}  // namespace

uint64_t Mix(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  uint64_t h = SplitMix(a);
  h = SplitMix(h ^ b);
  h = SplitMix(h ^ c);
  return SplitMix(h ^ d);
}

uint64_t ChaosRandom::Next() {
  state_ += 0x9e3779b97f4a7c15ULL;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int64_t ChaosRandom::Uniform(int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
}

bool ChaosRandom::Chance(double p) {
  return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p;
}

std::string ChaosParams::Describe() const {
  return absl::StrCat(
      records, " records + ", garbage, " undecodable over ", partitions,
      " partitions, ", keys, " keys; ",
      ordering == Ordering::kKey ? "key" : "partition",
      " ordering, concurrency ", concurrency, ", ",
      batch ? absl::StrCat("batch handlers (ExactlyOnce, up to ", batch_size,
                           " records / ", batch_wait_ms, " ms)")
            : std::string("single-record handlers (ExactlyOnceEach)"),
      "; max_attempts ", max_attempts, ", max_in_flight ", max_in_flight,
      ", handler pause up to ", handler_delay_us, " us");
}

ChaosParams ParamsForSeed(uint64_t seed) {
  ChaosRandom random(Mix(seed, 0xc4a05));
  ChaosParams p;
  p.seed = seed;
  p.records = static_cast<int>(random.Uniform(1500, 2500));
  p.garbage = p.records / 100 + static_cast<int>(random.Uniform(0, 10));
  p.partitions = static_cast<int>(random.Uniform(4, 8));
  p.keys = static_cast<int>(random.Uniform(30, 120));
  switch (seed % 3) {
    case 0:
      p.ordering = Ordering::kPartition;
      p.concurrency = random.Chance(0.5) ? 1 : 3;
      break;
    case 1:
      p.ordering = Ordering::kKey;
      p.concurrency = static_cast<int>(random.Uniform(2, 4));
      break;
    default:
      p.batch = true;
      p.ordering = random.Chance(0.5) ? Ordering::kKey : Ordering::kPartition;
      p.concurrency = p.ordering == Ordering::kKey
                          ? static_cast<int>(random.Uniform(2, 3))
                          : static_cast<int>(random.Uniform(1, 2));
      p.batch_size = static_cast<int>(random.Uniform(4, 16));
      p.batch_wait_ms = static_cast<int>(random.Uniform(5, 30));
      break;
  }
  p.max_attempts = 3;
  const int in_flight[] = {20, 100, 1000};
  p.max_in_flight = in_flight[random.Uniform(0, 2)];
  p.handler_delay_us = static_cast<int>(random.Uniform(500, 3000));
  return p;
}

std::string RecordId::Name() const { return absl::StrCat("k", key, "#", seq); }

std::string KeyName(int key) { return absl::StrCat("k", key); }

std::optional<RecordId> ParseRecord(absl::string_view payment_id,
                                    int64_t amount) {
  int key = 0;
  if (!absl::ConsumePrefix(&payment_id, "k") ||
      !absl::SimpleAtoi(payment_id, &key) || key < 0 || amount < 1) {
    return std::nullopt;
  }
  return RecordId{key, amount};
}

Fault FaultFor(const ChaosParams& params, const RecordId& record, int attempt) {
  const uint64_t h = Mix(params.seed, static_cast<uint64_t>(record.key),
                         static_cast<uint64_t>(record.seq), 0x5eed);
  const uint64_t bp = h % 10000;
  const uint64_t more = h >> 32;
  if (bp < kPermanentBp) {
    // Permanent on the first attempt, or after one transient failure.
    const int at = 1 + static_cast<int>(more % 2);
    return attempt < at ? Fault::kTransient : Fault::kPermanent;
  }
  if (bp < kPermanentBp + kExhaustBp) return Fault::kTransient;
  if (bp < kPermanentBp + kExhaustBp + kRecoveringBp) {
    // Fails 1..max_attempts-1 times: the last attempt succeeds at the latest.
    const int failures =
        1 + static_cast<int>(more % std::max(1, params.max_attempts - 1));
    return attempt <= failures ? Fault::kTransient : Fault::kNone;
  }
  return Fault::kNone;
}

bool PlannedDeadLetter(const ChaosParams& params, const RecordId& record) {
  for (int attempt = 1; attempt <= params.max_attempts; ++attempt) {
    switch (FaultFor(params, record, attempt)) {
      case Fault::kNone:
        return false;
      case Fault::kPermanent:
        return true;
      case Fault::kTransient:
        break;
    }
  }
  return true;  // transient on every attempt: exhausted
}

int HandlerDelayUs(const ChaosParams& params, const RecordId& record,
                   int attempt) {
  if (params.handler_delay_us <= 0) return 0;
  return static_cast<int>(Mix(params.seed, static_cast<uint64_t>(record.key),
                              static_cast<uint64_t>(record.seq),
                              static_cast<uint64_t>(attempt)) %
                          static_cast<uint64_t>(params.handler_delay_us));
}

}  // namespace chaos
}  // namespace herald
