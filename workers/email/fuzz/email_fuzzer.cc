// Fuzz target: email message building (workers/email/email_message.h and
// templates.h) on any recipient, subject, bodies, template variables and
// message id.
//
// Input: fields separated by 0x1f: to, subject, text, html, message id,
// template name, then variable names and values.
//
// Properties, for the email as given and as rendered from the template,
// with any message id (it is the record's ce_id, which any producer
// chooses; the worker passes it through MessageToken()):
//   - the email renders, or is refused as InvalidArgument for a recipient
//     that is not one plain address (ValidateAddress);
//   - the header block is exactly From, To, Subject, Date, Message-ID,
//     MIME-Version and Content-Type, each on one line or folded onto lines
//     that start with a space: no CR or LF from the input makes a header of
//     its own (header injection), and no line exceeds 998 characters;
//   - the bodies cannot forge the multipart boundary;
//   - a template renders or is NotFound.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/testing/fuzz_check.h"
#include "workers/email/email_message.h"
#include "workers/email/templates.h"

namespace herald {
namespace workers {
namespace {

void CheckMessage(const absl::StatusOr<std::string>& rendered,
                  const Email& email, absl::string_view token) {
  if (!rendered.ok()) {
    FUZZ_CHECK(rendered.status().code() == absl::StatusCode::kInvalidArgument)
        << rendered.status();
    FUZZ_CHECK(!ValidateAddress(email.to).ok())
        << "refused a good recipient: " << rendered.status();
    return;
  }
  const std::string& message = *rendered;
  const size_t end = message.find("\r\n\r\n");
  FUZZ_CHECK(end != std::string::npos) << "no end of headers";
  const std::vector<absl::string_view> lines =
      absl::StrSplit(absl::string_view(message).substr(0, end), "\r\n");
  static constexpr const char* kHeaders[] = {
      "From: ",        "To: ",           "Subject: ",     "Date: ",
      "Message-ID: <", "MIME-Version: ", "Content-Type: "};
  size_t headers = 0;
  for (absl::string_view line : lines) {
    FUZZ_CHECK(line.size() <= 998) << "a line of " << line.size();
    FUZZ_CHECK(line.find_first_of("\r\n") == absl::string_view::npos)
        << "a bare CR or LF in header line '" << line << "'";
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      FUZZ_CHECK(headers > 0) << "a continuation before any header";
      continue;  // folded: part of the header above
    }
    FUZZ_CHECK(headers < std::size(kHeaders))
        << "an extra header line '" << line << "' in:\n"
        << message.substr(0, end);
    FUZZ_CHECK(absl::StartsWith(line, kHeaders[headers]))
        << "header " << headers << " is '" << line << "'";
    ++headers;
  }
  FUZZ_CHECK(headers == std::size(kHeaders)) << headers << " headers";
  // Two parts and the closing delimiter: nothing else may look like one.
  const std::string delimiter = absl::StrCat("\r\n--=_herald_", token);
  size_t count = 0;
  for (size_t at = message.find(delimiter); at != std::string::npos;
       at = message.find(delimiter, at + 1)) {
    ++count;
  }
  FUZZ_CHECK(count == 3) << count << " MIME delimiters";
}

}  // namespace
}  // namespace workers
}  // namespace herald

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace herald::workers;  // NOLINT: one target, one namespace
  std::vector<std::string> fields = absl::StrSplit(
      absl::string_view(reinterpret_cast<const char*>(data), size), '\x1f');
  fields.resize(std::max<size_t>(fields.size(), 6));
  const absl::Time date = absl::FromUnixSeconds(1764676800);
  const std::string token = MessageToken(fields[4]);
  FUZZ_CHECK(IsMessageToken(token)) << "'" << token << "'";

  Email email{fields[0], fields[1], fields[2], fields[3]};
  CheckMessage(RenderRfc5322(email, token, date), email, token);

  TemplateVariables variables;
  for (size_t i = 6; i + 1 < fields.size(); i += 2) {
    variables[fields[i]] = fields[i + 1];
  }
  const absl::StatusOr<Email> rendered =
      RenderTemplate(fields[5], variables, fields[0]);
  if (!rendered.ok()) {
    FUZZ_CHECK(rendered.status().code() == absl::StatusCode::kNotFound)
        << rendered.status();
    return 0;
  }
  CheckMessage(RenderRfc5322(*rendered, token, date), *rendered, token);
  return 0;
}
