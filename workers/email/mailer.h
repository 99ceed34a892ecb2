// File: workers/email/mailer.h
//
// Where the email worker delivers: a Maildir-style directory by default (one
// RFC 5322 `.eml` file per email, named after its id so that delivering the
// same email twice leaves one file), or an SMTP server through libcurl.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<Mailer>> mailer = NewMailer(settings);
//   absl::Status sent = (*mailer)->Deliver(event_id, "ada@example.com", eml);
#ifndef HERALD_WORKERS_EMAIL_MAILER_H_
#define HERALD_WORKERS_EMAIL_MAILER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "workers/email/email_settings.h"

namespace herald {
namespace workers {

class Mailer {
 public:
  virtual ~Mailer() = default;
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
  virtual absl::Status Deliver(absl::string_view id, absl::string_view to,
                               absl::string_view rfc5322) = 0;
};

// Writes <dir>/new/<id>.eml through <dir>/tmp (atomic rename), creating the
// Maildir folders; an existing <id>.eml is left as it is.
absl::StatusOr<std::unique_ptr<Mailer>> NewMaildirMailer(
    const std::string& dir);

// Sends over SMTP to `url` ("smtp://host:port"). A delivery gives up after
// `timeout` (connecting, after at most 5 seconds of it).
absl::StatusOr<std::unique_ptr<Mailer>> NewSmtpMailer(
    const std::string& url, const std::string& from,
    absl::Duration timeout = absl::Seconds(30));

// SMTP when settings.smtp_url is set, else the Maildir at settings.maildir.
absl::StatusOr<std::unique_ptr<Mailer>> NewMailer(
    const EmailSettings& settings);

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_EMAIL_MAILER_H_
