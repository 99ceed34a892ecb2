// File: workers/runtime/wide_sum.h
//
// Running sums of amounts that cannot overflow 64-bit columns, the same on
// SQLite and PostgreSQL. A sum is kept in two BIGINT columns, `<col>` and
// `<col>_e18`, meaning <col>_e18 * 10^18 + <col>: each addition carries
// whole 10^18s into the second column. With every amount within
// ±contracts::v1::kMaxAmount (10^15), no intermediate value comes near
// 2^63, so SQLite never turns a sum into a REAL and PostgreSQL never fails
// an event with "bigint out of range".
//
// Example (an upsert that adds `amount` to analytics_payments_daily.amount):
//
//   tx.Execute(absl::StrCat(
//       "INSERT INTO t(day, amount, amount_e18) VALUES (?, ?, 0)"
//       " ON CONFLICT(day) DO UPDATE SET ", WideSumSet("t", "amount")),
//       {day, amount});
//   ...
//   std::string total = WideSumText(row.Int(0), row.Int(1));  // exact
#ifndef HERALD_WORKERS_RUNTIME_WIDE_SUM_H_
#define HERALD_WORKERS_RUNTIME_WIDE_SUM_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace herald {
namespace workers {

// The assignments of an ON CONFLICT ... DO UPDATE SET clause that add
// `excluded.<column>` to `<table>.<column>`, carrying into `<column>_e18`.
std::string WideSumSet(absl::string_view table, absl::string_view column);

// The exact decimal value of a sum read back from its two columns.
std::string WideSumText(int64_t units, int64_t e18);

// OK for an amount a wide sum may add; otherwise a Permanent error (the
// event is dead-lettered with this reason) naming `field`.
absl::Status CheckAmount(absl::string_view field, int64_t amount);

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_RUNTIME_WIDE_SUM_H_
