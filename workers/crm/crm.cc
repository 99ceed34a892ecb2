#include "workers/crm/crm.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "contracts/v1/payments.pb.h"
#include "contracts/v1/users.pb.h"
#include "messaging/inbox/exactly_once.h"
#include "workers/runtime/wide_sum.h"

namespace herald {
namespace workers {
namespace {

using contracts::v1::PaymentCreated;
using contracts::v1::UserRegistered;

constexpr char kInboxName[] = "crm";

int64_t Millis(const google::protobuf::Timestamp& ts, const Metadata& meta) {
  return ts.seconds() > 0 ? ts.seconds() * 1000 + ts.nanos() / 1000000
                          : absl::ToUnixMillis(meta.EventTime());
}

absl::Status OnRegistered(db::Transaction& tx, const UserRegistered& u,
                          const Metadata& meta) {
  // A payment may have been seen first: keep its "customer" stage.
  return tx
      .Execute(
          "INSERT INTO crm_contacts(user_id, email, name, stage,"
          " registered_at) VALUES (?, ?, ?, 'lead', ?)"
          " ON CONFLICT(user_id) DO UPDATE SET email = excluded.email,"
          " name = excluded.name, registered_at = excluded.registered_at",
          {u.user_id(), u.email(), u.name(), Millis(u.registered_at(), meta)})
      .status();
}

absl::Status OnPayment(db::Transaction& tx, const PaymentCreated& p,
                       const Metadata& meta) {
  absl::Status s = CheckAmount("amount", p.amount());
  if (!s.ok()) return s;
  s = tx.Execute(
            "INSERT INTO crm_contacts(user_id, email, name, stage,"
            " first_payment_at) VALUES (?, '', '', 'customer', ?)"
            " ON CONFLICT(user_id) DO UPDATE SET stage = 'customer',"
            " first_payment_at = COALESCE(crm_contacts.first_payment_at,"
            " excluded.first_payment_at)",
            {p.user_id(), Millis(p.created_at(), meta)})
          .status();
  if (!s.ok()) return s;
  return tx
      .Execute(absl::StrCat(
                   "INSERT INTO crm_spend(user_id, currency, payments, total)"
                   " VALUES (?, ?, 1, ?) ON CONFLICT(user_id, currency) DO"
                   " UPDATE SET payments = crm_spend.payments + 1, ",
                   WideSumSet("crm_spend", "total")),
               {p.user_id(), p.currency(), p.amount()})
      .status();
}

}  // namespace

std::vector<db::Migration> CrmMigrations() {
  const char* sql =
      "CREATE TABLE crm_contacts ("
      " user_id TEXT PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL,"
      " stage TEXT NOT NULL, registered_at BIGINT, first_payment_at BIGINT);"
      "CREATE TABLE crm_spend ("
      " user_id TEXT NOT NULL, currency TEXT NOT NULL,"
      " payments BIGINT NOT NULL, total BIGINT NOT NULL,"
      " PRIMARY KEY (user_id, currency))";
  // Totals summed in two columns (workers/runtime/wide_sum.h).
  const char* wide =
      "ALTER TABLE crm_spend ADD COLUMN total_e18 BIGINT NOT NULL DEFAULT 0";
  return {{1, "contacts and spend", sql, sql},
          {2, "wide spend totals", wide, wide}};
}

absl::Status SetUpCrm(WorkerContext& context) {
  absl::Status s = db::Migrate(context.db, "crm", CrmMigrations());
  if (!s.ok()) return s;
  const BatchOptions& batch = context.settings.batch;
  s = context.consumer.SubscribeBatch<UserRegistered>(
      batch, inbox::ExactlyOnce<UserRegistered>(context.db, kInboxName,
                                                &OnRegistered));
  if (!s.ok()) return s;
  return context.consumer.SubscribeBatch<PaymentCreated>(
      batch,
      inbox::ExactlyOnce<PaymentCreated>(context.db, kInboxName, &OnPayment));
}

WorkerSpec CrmWorkerSpec() {
  WorkerSpec spec{"crm-worker", "crm-worker-group", &SetUpCrm};
  spec.admin_port = 9103;
  spec.description =
      "The CRM worker: one contact per user (lead on user.registered,\n"
      "customer after the first payment.created) and the total spent per\n"
      "currency; each event counts once (inbox-deduplicated).\n";
  return spec;
}

}  // namespace workers
}  // namespace herald
