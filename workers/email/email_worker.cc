#include "workers/email/email_worker.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "contracts/v1/notifications.pb.h"
#include "contracts/v1/payments.pb.h"
#include "contracts/v1/users.pb.h"
#include "messaging/inbox/exactly_once.h"
#include "messaging/retry.h"
#include "workers/email/email_message.h"
#include "workers/email/mailer.h"
#include "workers/email/templates.h"

namespace herald {
namespace workers {
namespace {

using contracts::v1::EmailNotification;
using contracts::v1::PaymentCreated;
using contracts::v1::PaymentUpdated;
using contracts::v1::UserRegistered;

constexpr char kInboxName[] = "email";

struct Contact {
  std::string email;
  std::string name;
};

// The payer's contact, or Unavailable: the registration may still be on its
// way on another topic, so this is worth a retry.
absl::StatusOr<Contact> ContactOf(db::Transaction& tx,
                                  const std::string& user_id) {
  auto rows = tx.Query(
      "SELECT email, name FROM email_contacts WHERE user_id = ?", {user_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return absl::UnavailableError(
        absl::StrCat("no email address known for user '", user_id, "' yet"));
  }
  return Contact{(*rows)[0].String(0), (*rows)[0].String(1)};
}

// The email's id, which names its Maildir file, its Message-ID and its MIME
// boundary: the event's ce_id or, for a record without one, where it was
// written, as a MessageToken() (a producer may put any bytes in ce_id).
std::string EmailId(const Metadata& meta) {
  if (!meta.event_id.empty()) return MessageToken(meta.event_id);
  return MessageToken(absl::StrCat("kafka-", meta.topic, "-", meta.partition,
                                   "-", meta.offset));
}

// An event's database effects, and the email it sends (or why not).
template <typename T>
using Compose = std::function<absl::StatusOr<Email>(db::Transaction&, const T&,
                                                    const Metadata&)>;

// The emails of one batch: staged as its events are applied, delivered as a
// group before the batch's transaction commits (inbox/exactly_once.h).
class MailGroup {
 public:
  explicit MailGroup(Mailer& mailer) : mailer_(mailer) {}

  void Restart() {
    staged_.clear();
    indices_.clear();
  }

  // Renders the email of batch event `index` and logs it in `tx`.
  absl::Status Stage(db::Transaction& tx, const Metadata& meta,
                     const Email& email, size_t index) {
    std::string id = EmailId(meta);
    absl::StatusOr<std::string> eml =
        RenderRfc5322(email, id, meta.EventTime());
    // A recipient that is no plain address will not become one on retry.
    if (!eml.ok()) return Permanent(eml.status());
    absl::Status s =
        tx.Execute(
              "INSERT INTO email_log(event_id, recipient, subject, sent_at)"
              " VALUES (?, ?, ?, ?)",
              {id, email.to, email.subject, absl::ToUnixMillis(absl::Now())})
            .status();
    if (!s.ok()) return s;
    // Delivered by an earlier attempt at this batch: once is enough (SMTP).
    if (delivered_.contains(id)) return absl::OkStatus();
    staged_.push_back(OutgoingEmail{std::move(id), email.to, *std::move(eml)});
    indices_.push_back(index);
    return absl::OkStatus();
  }

  absl::Status Deliver() {
    GroupDelivery done = mailer_.DeliverAll(staged_);
    for (size_t k = 0; k < done.delivered; ++k) {
      delivered_.insert(staged_[k].id);
    }
    if (done.delivered == staged_.size()) return absl::OkStatus();
    return FailedAt(indices_[done.delivered], std::move(done.error));
  }

 private:
  Mailer& mailer_;
  std::vector<OutgoingEmail> staged_;
  std::vector<size_t> indices_;  // the batch index of each staged email
  absl::flat_hash_set<std::string> delivered_;
};

template <typename T>
class MailBatch : public inbox::StagedBatch<T> {
 public:
  MailBatch(const Compose<T>& compose, Mailer& mailer)
      : compose_(compose), group_(mailer) {}

  void Restart() override { group_.Restart(); }
  absl::Status Apply(db::Transaction& tx, const T& event, const Metadata& meta,
                     size_t index) override {
    absl::StatusOr<Email> email = compose_(tx, event, meta);
    if (!email.ok()) return email.status();
    return group_.Stage(tx, meta, *email, index);
  }
  absl::Status Perform() override { return group_.Deliver(); }

 private:
  const Compose<T>& compose_;
  MailGroup group_;
};

// Subscribes T's topic in batches: each event's effects and its email.
template <typename T>
absl::Status SubscribeMail(WorkerContext& context,
                           std::shared_ptr<Mailer> mailer, Compose<T> compose) {
  auto shared = std::make_shared<Compose<T>>(std::move(compose));
  return context.consumer.SubscribeBatch<T>(
      context.settings.batch,
      inbox::ExactlyOnceStaged<T>(context.db, kInboxName, [shared, mailer] {
        return std::make_unique<MailBatch<T>>(*shared, *mailer);
      }));
}

}  // namespace

std::vector<db::Migration> EmailMigrations() {
  const char* sql =
      "CREATE TABLE email_contacts ("
      " user_id TEXT PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL);"
      "CREATE TABLE email_payments ("
      " payment_id TEXT PRIMARY KEY, user_id TEXT NOT NULL,"
      " amount BIGINT NOT NULL, currency TEXT NOT NULL);"
      "CREATE TABLE email_log ("
      " event_id TEXT PRIMARY KEY, recipient TEXT NOT NULL,"
      " subject TEXT NOT NULL, sent_at BIGINT NOT NULL)";
  return {{1, "contacts, payments, log", sql, sql}};
}

absl::Status SetUpEmail(WorkerContext& context, const EmailSettings& email) {
  absl::Status s = db::Migrate(context.db, "email", EmailMigrations());
  if (!s.ok()) return s;
  absl::StatusOr<std::unique_ptr<Mailer>> made = NewMailer(email);
  if (!made.ok()) return made.status();
  std::shared_ptr<Mailer> mailer = *std::move(made);

  s = SubscribeMail<UserRegistered>(
      context, mailer,
      [](db::Transaction& tx, const UserRegistered& u,
         const Metadata&) -> absl::StatusOr<Email> {
        absl::Status s =
            tx.Execute(
                  "INSERT INTO email_contacts(user_id, email, name)"
                  " VALUES (?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET"
                  " email = excluded.email, name = excluded.name",
                  {u.user_id(), u.email(), u.name()})
                .status();
        if (!s.ok()) return s;
        return RenderTemplate("welcome", {{"name", u.name()}}, u.email());
      });
  if (!s.ok()) return s;

  s = SubscribeMail<PaymentCreated>(
      context, mailer,
      [](db::Transaction& tx, const PaymentCreated& p,
         const Metadata&) -> absl::StatusOr<Email> {
        absl::StatusOr<Contact> contact = ContactOf(tx, p.user_id());
        if (!contact.ok()) return contact.status();
        absl::Status s =
            tx.Execute(
                  "INSERT INTO email_payments(payment_id, user_id, amount,"
                  " currency) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                  {p.payment_id(), p.user_id(), p.amount(), p.currency()})
                .status();
        if (!s.ok()) return s;
        return RenderTemplate(
            "payment_confirmation",
            {{"name", contact->name},
             {"amount", FormatAmount(p.amount(), p.currency())},
             {"payment_id", p.payment_id()}},
            contact->email);
      });
  if (!s.ok()) return s;

  s = SubscribeMail<PaymentUpdated>(
      context, mailer,
      [](db::Transaction& tx, const PaymentUpdated& p,
         const Metadata&) -> absl::StatusOr<Email> {
        auto rows =
            tx.Query("SELECT user_id FROM email_payments WHERE payment_id = ?",
                     {p.payment_id()});
        if (!rows.ok()) return rows.status();
        if (rows->empty()) {
          return absl::UnavailableError(
              absl::StrCat("payment '", p.payment_id(), "' not seen yet"));
        }
        absl::StatusOr<Contact> contact = ContactOf(tx, (*rows)[0].String(0));
        if (!contact.ok()) return contact.status();
        return RenderTemplate("payment_status",
                              {{"name", contact->name},
                               {"payment_id", p.payment_id()},
                               {"old_status", p.old_status()},
                               {"new_status", p.new_status()},
                               {"reason", p.reason()}},
                              contact->email);
      });
  if (!s.ok()) return s;

  return SubscribeMail<EmailNotification>(
      context, mailer,
      [](db::Transaction&, const EmailNotification& n,
         const Metadata&) -> absl::StatusOr<Email> {
        if (n.has_template_name()) {
          TemplateVariables variables(n.template_variables().begin(),
                                      n.template_variables().end());
          absl::StatusOr<Email> rendered =
              RenderTemplate(n.template_name(), variables, n.to());
          // An unknown template will not appear on retry.
          if (!rendered.ok()) return Permanent(rendered.status());
          return rendered;
        }
        Email email;
        email.to = n.to();
        email.subject = n.subject();
        email.text = n.body();
        email.html = absl::StrCat("<pre>", HtmlEscape(n.body()), "</pre>");
        return email;
      });
}

WorkerSpec EmailWorkerSpec(EmailSettings email) {
  auto settings = std::make_shared<EmailSettings>(std::move(email));
  WorkerSpec spec;
  spec.name = "email-worker";
  spec.group = "email-worker-group";
  spec.setup = [settings](WorkerContext& context) {
    return SetUpEmail(context, *settings);
  };
  spec.keys = [settings] { return EmailKeys(*settings); };
  spec.admin_port = 9101;
  spec.description =
      "The email worker: renders notification.email, user.registered and\n"
      "payment events into emails, delivered to a Maildir or over SMTP\n"
      "(once each: inbox-deduplicated).\n";
  return spec;
}

}  // namespace workers
}  // namespace herald
