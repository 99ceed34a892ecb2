// File: workers/email/email_worker.h
//
// The email worker (group email-worker-group). It learns each user's address
// from user.registered into its own table and sends:
//   user.registered     -> "welcome"
//   payment.created     -> "payment_confirmation" to the payer
//   payment.updated     -> "payment_status" to the payer
//   notification.email  -> the given subject/body, or the named template
// Exactly one email per event: the inbox claim, the worker's tables and the
// delivery happen in one transaction, and a Maildir delivery is idempotent
// by event id. A payment whose user is not known yet is retried (the
// registration may still be on its way), then dead-lettered.
#ifndef HERALD_WORKERS_EMAIL_EMAIL_WORKER_H_
#define HERALD_WORKERS_EMAIL_EMAIL_WORKER_H_

#include <vector>

#include "absl/status/status.h"
#include "database/migrations.h"
#include "workers/email/email_settings.h"
#include "workers/runtime/worker.h"

namespace herald {
namespace workers {

std::vector<db::Migration> EmailMigrations();
absl::Status SetUpEmail(WorkerContext& context, const EmailSettings& email);

// The email worker, delivering as `email` says unless its keys (maildir,
// smtp_url) are loaded over it (WorkerMain does).
WorkerSpec EmailWorkerSpec(EmailSettings email = {});

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_EMAIL_EMAIL_WORKER_H_
