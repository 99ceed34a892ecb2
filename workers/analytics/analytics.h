// File: workers/analytics/analytics.h
//
// The analytics worker (group analytics-worker-group): keeps aggregates of
// payment.created, payment.updated and user.registered in its database, one
// transaction per batch with each event claimed in the inbox, so redelivered
// events are counted once. Read them with SQL:
//
//   analytics_payments_daily(day, currency, payments, amount, amount_e18)
//       -- the sum is amount_e18 * 10^18 + amount (workers/runtime/wide_sum.h)
//   analytics_payment_status(status, payments)   -- payments now in a status
//   analytics_registrations_daily(day, registrations)
//   analytics_daily (view): day, currency, payments, amount, amount_e18,
//       registrations
//
// or with `bazel run //workers:analytics -- --report`.
#ifndef HERALD_WORKERS_ANALYTICS_ANALYTICS_H_
#define HERALD_WORKERS_ANALYTICS_ANALYTICS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "database/database.h"
#include "database/migrations.h"
#include "workers/runtime/worker.h"

namespace herald {
namespace workers {

std::vector<db::Migration> AnalyticsMigrations();

// Migrates and subscribes the analytics handlers.
absl::Status SetUpAnalytics(WorkerContext& context);

// The spec for WorkerMain / Worker::Start.
WorkerSpec AnalyticsWorkerSpec();

// The aggregates as text, for --report.
absl::StatusOr<std::string> AnalyticsReport(db::Database& db);

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_ANALYTICS_ANALYTICS_H_
