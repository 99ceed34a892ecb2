// File: workers/email/email_settings.h
//
// Where the email worker delivers (base/settings.h):
//
//   maildir: maildir                 # HERALD_MAILDIR, --maildir
//   smtp_url: smtp://mail:25         # HERALD_SMTP_URL, --smtp_url (wins)
//
// Example:
//
//   herald::workers::EmailSettings email;
//   email.maildir = "/var/mail/herald";
//   WorkerSpec spec = herald::workers::EmailWorkerSpec(email);
#ifndef HERALD_WORKERS_EMAIL_EMAIL_SETTINGS_H_
#define HERALD_WORKERS_EMAIL_EMAIL_SETTINGS_H_

#include <string>
#include <vector>

#include "base/settings.h"

namespace herald {
namespace workers {

struct EmailSettings {
  // Maildir directory emails are written to, unless smtp_url is set.
  std::string maildir = "maildir";
  // Deliver over SMTP instead ("smtp://host:port").
  std::string smtp_url;
};

std::vector<settings::Key> EmailKeys(EmailSettings& settings);

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_EMAIL_EMAIL_SETTINGS_H_
