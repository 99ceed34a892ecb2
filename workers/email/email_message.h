// File: workers/email/email_message.h
//
// An email as the worker builds it, and its RFC 5322 form: multipart/
// alternative with a text/plain and a text/html part, UTF-8, quoted-printable
// free (8bit), CRLF line ends, Message-ID derived from the event id so that
// receivers can deduplicate.
#ifndef HERALD_WORKERS_EMAIL_EMAIL_MESSAGE_H_
#define HERALD_WORKERS_EMAIL_EMAIL_MESSAGE_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace herald {
namespace workers {

struct Email {
  std::string to;
  std::string subject;
  std::string text;
  std::string html;
};

inline constexpr char kDefaultFrom[] = "Herald <no-reply@herald.local>";

// The full message: headers, blank line, body.
std::string RenderRfc5322(const Email& email, absl::string_view message_id,
                          absl::Time date,
                          absl::string_view from = kDefaultFrom);

// `text` with &, <, >, " escaped for HTML.
std::string HtmlEscape(absl::string_view text);

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_EMAIL_EMAIL_MESSAGE_H_
