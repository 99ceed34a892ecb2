// File: workers/email/email_message.h
//
// An email as the worker builds it, and its RFC 5322 form: multipart/
// alternative with a text/plain and a text/html part, UTF-8,
// quoted-printable, CRLF line ends, Message-ID derived from the event id so
// that receivers can deduplicate.
//
// Everything in it that comes from an event is made safe first, since an
// event's producer is not trusted to write headers: the recipient must be one
// plain address (no CR/LF, commas or angle brackets: no second recipient, no
// extra header), the subject's control bytes become spaces and a non-ASCII or
// long subject is written as RFC 2047 encoded words folded over several
// lines, the event id goes through MessageToken(), and the bodies are
// quoted-printable. Body and subject lines stay within 76 characters, every
// line well within RFC 5322's 998.
//
// Example:
//
//   Email email{"ada@example.com", "Grüße", "Hello", "<p>Hello</p>"};
//   absl::StatusOr<std::string> eml =
//       RenderRfc5322(email, MessageToken(event_id), absl::Now());
//   if (!eml.ok()) return herald::Permanent(eml.status());  // a bad `to`
#ifndef HERALD_WORKERS_EMAIL_EMAIL_MESSAGE_H_
#define HERALD_WORKERS_EMAIL_EMAIL_MESSAGE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

// RenderRfc5322()
//
// The full message: headers, blank line, body. InvalidArgument, saying why,
// when `email.to` is not one plain address (ValidateAddress) or
// `message_id` is not a MessageToken().
absl::StatusOr<std::string> RenderRfc5322(
    const Email& email, absl::string_view message_id, absl::Time date,
    absl::string_view from = kDefaultFrom);

// ValidateAddress()
//
// OK when `to` is one plain address, local@domain: printable ASCII without
// spaces, quotes, commas, semicolons, angle brackets or parentheses, one
// '@', at most 254 characters. InvalidArgument (saying what is wrong,
// with `to` C-escaped) otherwise.
absl::Status ValidateAddress(absl::string_view to);

// MessageToken()
//
// `id` (an event id: any bytes) as a token that is safe in a Message-ID, a
// MIME boundary and a file name: letters, digits, '_' and '-' stay, so do
// dots between other characters; every other byte becomes =XX (hex). A
// token longer than 60 characters keeps its first 43 and a hash of the
// whole id. The same id always gives the same token; a UUID or
// "kafka-payment.created-0-42" stays as it is.
std::string MessageToken(absl::string_view id);

// True when `token` is what MessageToken() returns for some id.
bool IsMessageToken(absl::string_view token);

// `text` with &, <, >, " and ' escaped for HTML.
std::string HtmlEscape(absl::string_view text);

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_EMAIL_EMAIL_MESSAGE_H_
