#include "workers/runtime/wide_sum.h"

#include <sstream>

#include "absl/numeric/int128.h"
#include "absl/strings/str_cat.h"
#include "contracts/v1/limits.h"
#include "messaging/retry.h"

namespace herald {
namespace workers {
namespace {

constexpr int64_t kE18 = 1'000'000'000'000'000'000;

}  // namespace

std::string WideSumSet(absl::string_view table, absl::string_view column) {
  // Both assignments read the row as it was (SQL evaluates every right-hand
  // side before it assigns), so the carry sees the old <column>.
  const std::string sum =
      absl::StrCat("(", table, ".", column, " + excluded.", column, ")");
  return absl::StrCat(column, "_e18 = ", table, ".", column, "_e18 + ", sum,
                      " / ", kE18, ", ", column, " = ", sum, " % ", kE18);
}

std::string WideSumText(int64_t units, int64_t e18) {
  const absl::int128 value = absl::int128(e18) * kE18 + units;
  std::ostringstream out;
  out << value;
  return out.str();
}

absl::Status CheckAmount(absl::string_view field, int64_t amount) {
  if (amount >= -contracts::v1::kMaxAmount &&
      amount <= contracts::v1::kMaxAmount) {
    return absl::OkStatus();
  }
  return Permanent(absl::InvalidArgumentError(
      absl::StrCat(field, " ", amount, " is out of range (at most 10^15 in ",
                   "absolute value, contracts/v1/limits.h)")));
}

}  // namespace workers
}  // namespace herald
