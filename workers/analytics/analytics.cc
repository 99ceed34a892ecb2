#include "workers/analytics/analytics.h"

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
using contracts::v1::PaymentUpdated;
using contracts::v1::UserRegistered;

constexpr char kInboxName[] = "analytics";

// UTC calendar day of an event: its own timestamp, else the record's time.
std::string DayOf(const google::protobuf::Timestamp& ts,
                  const Metadata& metadata) {
  absl::Time time = ts.seconds() > 0 ? absl::FromUnixSeconds(ts.seconds())
                                     : metadata.EventTime();
  return absl::FormatTime("%Y-%m-%d", time, absl::UTCTimeZone());
}

absl::Status AddStatus(db::Transaction& tx, const std::string& status,
                       int64_t delta) {
  return tx
      .Execute(
          "INSERT INTO analytics_payment_status(status, payments) VALUES (?, ?)"
          " ON CONFLICT(status) DO UPDATE SET payments ="
          " analytics_payment_status.payments + excluded.payments",
          {status, delta})
      .status();
}

}  // namespace

std::vector<db::Migration> AnalyticsMigrations() {
  const char* sql =
      "CREATE TABLE analytics_payments_daily ("
      " day TEXT NOT NULL, currency TEXT NOT NULL,"
      " payments BIGINT NOT NULL, amount BIGINT NOT NULL,"
      " PRIMARY KEY (day, currency));"
      "CREATE TABLE analytics_payment_status ("
      " status TEXT PRIMARY KEY, payments BIGINT NOT NULL);"
      "CREATE TABLE analytics_registrations_daily ("
      " day TEXT PRIMARY KEY, registrations BIGINT NOT NULL);"
      "CREATE VIEW analytics_daily AS"
      " SELECT d.day, d.currency, d.payments, d.amount,"
      " COALESCE(r.registrations, 0) AS registrations"
      " FROM analytics_payments_daily d"
      " LEFT JOIN analytics_registrations_daily r ON r.day = d.day";
  // Amounts summed in two columns (workers/runtime/wide_sum.h): one BIGINT
  // overflowed after about 9,200 payments of the largest amount.
  const char* wide =
      "ALTER TABLE analytics_payments_daily"
      " ADD COLUMN amount_e18 BIGINT NOT NULL DEFAULT 0;"
      "DROP VIEW analytics_daily;"
      "CREATE VIEW analytics_daily AS"
      " SELECT d.day, d.currency, d.payments, d.amount, d.amount_e18,"
      " COALESCE(r.registrations, 0) AS registrations"
      " FROM analytics_payments_daily d"
      " LEFT JOIN analytics_registrations_daily r ON r.day = d.day";
  return {{1, "aggregates", sql, sql}, {2, "wide amount sums", wide, wide}};
}

absl::Status SetUpAnalytics(WorkerContext& context) {
  absl::Status s = db::Migrate(context.db, "analytics", AnalyticsMigrations());
  if (!s.ok()) return s;
  const BatchOptions& batch = context.settings.batch;
  db::Database& db = context.db;

  s = context.consumer.SubscribeBatch<PaymentCreated>(
      batch,
      inbox::ExactlyOnce<PaymentCreated>(
          db, kInboxName,
          [](db::Transaction& tx, const PaymentCreated& p,
             const Metadata& meta) -> absl::Status {
            absl::Status s = CheckAmount("amount", p.amount());
            if (!s.ok()) return s;
            s = tx.Execute(
                      absl::StrCat(
                          "INSERT INTO analytics_payments_daily(day,"
                          " currency, payments, amount) VALUES (?, ?, 1, ?)"
                          " ON CONFLICT(day, currency) DO UPDATE SET"
                          " payments = analytics_payments_daily.payments + 1, ",
                          WideSumSet("analytics_payments_daily", "amount")),
                      {DayOf(p.created_at(), meta), p.currency(), p.amount()})
                    .status();
            if (!s.ok()) return s;
            return AddStatus(tx, "pending", 1);
          }));
  if (!s.ok()) return s;
  s = context.consumer.SubscribeBatch<PaymentUpdated>(
      batch, inbox::ExactlyOnce<PaymentUpdated>(
                 db, kInboxName,
                 [](db::Transaction& tx, const PaymentUpdated& p,
                    const Metadata&) -> absl::Status {
                   absl::Status s = AddStatus(tx, p.old_status(), -1);
                   if (!s.ok()) return s;
                   return AddStatus(tx, p.new_status(), 1);
                 }));
  if (!s.ok()) return s;
  return context.consumer.SubscribeBatch<UserRegistered>(
      batch, inbox::ExactlyOnce<UserRegistered>(
                 db, kInboxName,
                 [](db::Transaction& tx, const UserRegistered& u,
                    const Metadata& meta) -> absl::Status {
                   return tx
                       .Execute(
                           "INSERT INTO analytics_registrations_daily(day,"
                           " registrations) VALUES (?, 1)"
                           " ON CONFLICT(day) DO UPDATE SET registrations ="
                           " analytics_registrations_daily.registrations + 1",
                           {DayOf(u.registered_at(), meta)})
                       .status();
                 }));
}

WorkerSpec AnalyticsWorkerSpec() {
  WorkerSpec spec{"analytics-worker", "analytics-worker-group",
                  &SetUpAnalytics};
  spec.admin_port = 9102;
  spec.description =
      "The analytics worker: daily payment and registration aggregates from\n"
      "payment.created and user.registered. --report prints them and exits.\n";
  return spec;
}

absl::StatusOr<std::string> AnalyticsReport(db::Database& db) {
  return db.TransactValue<std::string>(
      [](db::Transaction& tx) -> absl::StatusOr<std::string> {
        std::string out =
            "day         currency  payments        amount  registrations\n";
        auto rows = tx.Query(
            "SELECT day, currency, payments, amount, amount_e18,"
            " registrations FROM analytics_daily ORDER BY day, currency");
        if (!rows.ok()) return rows.status();
        for (const db::Row& r : *rows) {
          absl::StrAppend(&out, r.String(0), "  ", r.String(1), "       ",
                          r.Int(2), "  ", WideSumText(r.Int(3), r.Int(4)), "  ",
                          r.Int(5), "\n");
        }
        out += "\nstatus      payments\n";
        rows = tx.Query(
            "SELECT status, payments FROM analytics_payment_status"
            " ORDER BY status");
        if (!rows.ok()) return rows.status();
        for (const db::Row& r : *rows) {
          absl::StrAppend(&out, r.String(0), "  ", r.Int(1), "\n");
        }
        return out;
      });
}

}  // namespace workers
}  // namespace herald
