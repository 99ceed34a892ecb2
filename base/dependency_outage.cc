#include "base/dependency_outage.h"

#include "absl/strings/cord.h"

namespace herald {
namespace {

// A payload URL of our own: the marker travels with the status (copies,
// StatusOr) and shows up in its ToString().
constexpr char kOutagePayload[] = "type.herald.dev/herald.DependencyOutage";

}  // namespace

absl::Status DependencyOutage(absl::Status status) {
  if (!status.ok()) status.SetPayload(kOutagePayload, absl::Cord("1"));
  return status;
}

bool IsDependencyOutage(const absl::Status& status) {
  return !status.ok() && status.GetPayload(kOutagePayload).has_value();
}

}  // namespace herald
