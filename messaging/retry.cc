#include "messaging/retry.h"

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/backoff.h"

namespace herald {
namespace {
constexpr char kPermanentPayload[] = "herald.dev/permanent";
constexpr char kFailedAtPayload[] = "herald.dev/failed-at";
}  // namespace

absl::Duration BackoffFor(const RetryPolicy& policy, int attempt) {
  return ExponentialBackoff(policy.initial_backoff, policy.max_backoff,
                            policy.jitter, attempt);
}

absl::Status Permanent(absl::Status status) {
  if (status.ok()) return status;
  status.SetPayload(kPermanentPayload, absl::Cord("1"));
  return status;
}

bool IsPermanent(const absl::Status& status) {
  return status.GetPayload(kPermanentPayload).has_value();
}

absl::Status FailedAt(size_t index, absl::Status status) {
  if (status.ok()) return status;
  status.SetPayload(kFailedAtPayload, absl::Cord(absl::StrCat(index)));
  return status;
}

std::optional<size_t> FailedIndex(const absl::Status& status) {
  auto payload = status.GetPayload(kFailedAtPayload);
  size_t index;
  if (!payload.has_value() ||
      !absl::SimpleAtoi(std::string(*payload), &index)) {
    return std::nullopt;
  }
  return index;
}

}  // namespace herald
