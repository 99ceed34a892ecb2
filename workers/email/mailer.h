// File: workers/email/mailer.h
//
// Where the email worker delivers: a Maildir-style directory by default (one
// RFC 5322 `.eml` file per email, named after its id so that delivering the
// same email twice leaves one file), or an SMTP server through libcurl.
//
// Emails are delivered in groups: a Maildir writes a group's files, flushes
// them all with one syncfs() of its file system (Linux >= 5.8 reports
// write-back errors there), moves them into new/ and flushes new/ once;
// SMTP sends them over connections it keeps open between deliveries.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<Mailer>> mailer = NewMailer(settings);
//   absl::Status sent = (*mailer)->Deliver(event_id, "ada@example.com", eml);
//   GroupDelivery done = (*mailer)->DeliverAll(emails);  // several at once
#ifndef HERALD_WORKERS_EMAIL_MAILER_H_
#define HERALD_WORKERS_EMAIL_MAILER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "workers/email/email_settings.h"

namespace herald {
namespace workers {

// One RFC 5322 message to deliver; `id` names it (the event id).
struct OutgoingEmail {
  std::string id;
  std::string to;
  std::string rfc5322;
};

// How far a group delivery got: the first `delivered` emails are delivered
// (durably); if that is not all of them, `error` says why the next one
// failed (the ones after it may or may not have been delivered).
struct GroupDelivery {
  size_t delivered = 0;
  absl::Status error;
};

class Mailer {
 public:
  virtual ~Mailer() = default;

  // Delivers `emails` as a group, as Deliver() delivers one. Safe to call
  // from several threads at once.
  virtual GroupDelivery DeliverAll(
      const std::vector<OutgoingEmail>& emails) = 0;

  // Delivers one RFC 5322 message. `id` names it (the event id); delivering
  // the same id again must not produce a second copy where the medium
  // allows it. Unavailable on a transient failure; marked
  // herald::DependencyOutage (base/dependency_outage.h) when the medium
  // itself is down rather than this message refused: the SMTP server cannot
  // be reached, drops the connection, times out or answers 421; the
  // Maildir's file system is full, over quota, failing, read-only or
  // refuses access. FailedPrecondition marked herald::Permanent
  // (messaging/retry.h: dead-lettered at once) when the SMTP server refuses
  // the message for good (5xx). Success means durable: a Maildir file and
  // its name in new/ are flushed to disk first. No error holds the password
  // of the SMTP URL.
  absl::Status Deliver(absl::string_view id, absl::string_view to,
                       absl::string_view rfc5322);
};

// Writes <dir>/new/<id>.eml through <dir>/tmp (atomic rename), creating the
// Maildir folders; an existing <id>.eml is left as it is.
absl::StatusOr<std::unique_ptr<Mailer>> NewMaildirMailer(
    const std::string& dir);

// Sends over SMTP to `url` ("smtp://host:port"), on up to `connections`
// connections at once, each kept open and reused for the next emails. A
// delivery gives up after `timeout` (connecting, after at most 5 seconds of
// it).
absl::StatusOr<std::unique_ptr<Mailer>> NewSmtpMailer(
    const std::string& url, const std::string& from,
    absl::Duration timeout = absl::Seconds(30), int connections = 4);

// SMTP when settings.smtp_url is set, else the Maildir at settings.maildir.
absl::StatusOr<std::unique_ptr<Mailer>> NewMailer(
    const EmailSettings& settings);

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_EMAIL_MAILER_H_
