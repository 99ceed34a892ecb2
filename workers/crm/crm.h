// File: workers/crm/crm.h
//
// The CRM worker (group crm-worker-group): one contact per user with a
// lifecycle stage — "lead" on user.registered, "customer" after the first
// payment.created — and the total spent per currency. Effects and inbox
// claims share one transaction per batch: each event counts once.
//
//   crm_contacts(user_id, email, name, stage, registered_at, first_payment_at)
//   crm_spend(user_id, currency, payments, total, total_e18)
//       -- the sum is total_e18 * 10^18 + total (workers/runtime/wide_sum.h)
#ifndef HERALD_WORKERS_CRM_CRM_H_
#define HERALD_WORKERS_CRM_CRM_H_

#include <vector>

#include "absl/status/status.h"
#include "database/migrations.h"
#include "workers/runtime/worker.h"

namespace herald {
namespace workers {

std::vector<db::Migration> CrmMigrations();
absl::Status SetUpCrm(WorkerContext& context);
WorkerSpec CrmWorkerSpec();

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_CRM_CRM_H_
