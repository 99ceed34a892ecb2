// File: contracts/v1/limits.h
//
// Bounds the contracts promise beyond their field types, shared by the
// gateway (which refuses what is outside them, 400) and the consumers
// (which dead-letter an event outside them with the reason).
//
// Example:
//
//   if (p.amount() <= 0 || p.amount() > herald::contracts::v1::kMaxAmount) {
//     return Permanent(absl::InvalidArgumentError("amount out of range"));
//   }
#ifndef HERALD_CONTRACTS_V1_LIMITS_H_
#define HERALD_CONTRACTS_V1_LIMITS_H_

#include <cstdint>

namespace herald {
namespace contracts {
namespace v1 {

// The largest PaymentCreated.amount, in minor units: 10^15 (ten trillion
// dollars in cents). Sums of such amounts over any realistic number of
// payments still need more than 64 bits; see workers/runtime/wide_sum.h.
inline constexpr int64_t kMaxAmount = 1'000'000'000'000'000;

}  // namespace v1
}  // namespace contracts
}  // namespace herald

#endif  // HERALD_CONTRACTS_V1_LIMITS_H_
