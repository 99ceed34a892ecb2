// File: workers/email/email_worker.h
//
// The email worker (group email-worker-group). It learns each user's address
// from user.registered into its own table and sends:
//   user.registered     -> "welcome"
//   payment.created     -> "payment_confirmation" to the payer
//   payment.updated     -> "payment_status" to the payer
//   notification.email  -> the given subject/body, or the named template
// It reads in batches (consumer.batch_size, consumer.batch_wait_ms): one
// transaction claims a batch's events in the inbox and writes their effects
// on the worker's tables, and the batch's emails are delivered as a group
// inside that transaction, before its commit (a Maildir writes them all,
// then flushes them together). An event whose email fails alone is retried
// alone (and dead-lettered if it keeps failing); its neighbours go on. An
// event handled again (its commit failed, the worker died before it, or the
// delivery reported an error after all) sends its email again:
// - Maildir: still one email per event, since a delivery is idempotent by
//   event id (the file <event id>.eml is written once).
// - SMTP: at least one. A server that accepted the message but whose
//   answer was lost (a timeout, a dropped connection) gets it again, with
//   the same Message-ID (<event id>@herald.local), by which mail systems
//   and clients can recognise the copy.
// A payment whose user is not known yet is retried (the registration may
// still be on its way), then dead-lettered.
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
