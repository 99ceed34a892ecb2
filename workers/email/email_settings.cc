#include "workers/email/email_settings.h"

namespace herald {
namespace workers {

std::vector<settings::Key> EmailKeys(EmailSettings& s) {
  return {
      settings::String("maildir", &s.maildir,
                       "email worker: Maildir directory (new/*.eml)"),
      settings::String("smtp_url", &s.smtp_url,
                       "email worker: deliver over SMTP instead "
                       "(smtp://[user:password@]host:port; the password "
                       "is never logged)"),
  };
}

}  // namespace workers
}  // namespace herald
