#include "messaging/retry.h"

#include <algorithm>
#include <cmath>

#include "absl/random/random.h"
#include "absl/strings/cord.h"

namespace herald {
namespace {
constexpr char kPermanentPayload[] = "herald.dev/permanent";
}  // namespace

absl::Duration BackoffFor(const RetryPolicy& policy, int attempt) {
  double base = absl::ToDoubleSeconds(policy.initial_backoff) *
                std::pow(2.0, std::max(0, attempt - 1));
  base = std::min(base, absl::ToDoubleSeconds(policy.max_backoff));
  thread_local absl::BitGen gen;
  double factor = 1.0 + absl::Uniform(gen, -policy.jitter, policy.jitter);
  return absl::Seconds(std::max(0.0, base * factor));
}

absl::Status Permanent(absl::Status status) {
  if (status.ok()) return status;
  status.SetPayload(kPermanentPayload, absl::Cord("1"));
  return status;
}

bool IsPermanent(const absl::Status& status) {
  return status.GetPayload(kPermanentPayload).has_value();
}

}  // namespace herald
