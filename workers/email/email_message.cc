#include "workers/email/email_message.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace herald {
namespace workers {
namespace {

// RFC 5322 recommends 78 characters a line; quoted-printable and encoded
// words stay within 76.
constexpr size_t kMaxLine = 76;
constexpr size_t kMaxToken = 60;
constexpr size_t kMaxAddress = 254;

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// A header value from outside (the From setting, the subject): control
// bytes, CR and LF among them, become spaces.
std::string OneLine(absl::string_view value) {
  std::string out(value);
  for (char& c : out) {
    if (IsControl(static_cast<unsigned char>(c))) c = ' ';
  }
  return out;
}

bool IsAscii(absl::string_view value) {
  for (unsigned char c : value) {
    if (c >= 0x80) return false;
  }
  return true;
}

// The subject's header line(s): as it is when short, ASCII and free of
// "=?" (which readers would take for an encoded word); otherwise RFC 2047
// encoded words (base64) of at most 39 bytes of text each, never splitting
// a UTF-8 character, one per folded line.
std::string SubjectHeader(absl::string_view raw) {
  const std::string subject = OneLine(raw);
  const std::string plain = absl::StrCat("Subject: ", subject);
  if (IsAscii(subject) && plain.size() <= kMaxLine &&
      subject.find("=?") == std::string::npos) {
    return plain;
  }
  constexpr size_t kChunk = 39;  // base64: 52 characters, 64 with =?UTF-8?B?
  std::vector<std::string> words;
  size_t pos = 0;
  while (pos < subject.size()) {
    size_t end = std::min(pos + kChunk, subject.size());
    // Back up to the start of a UTF-8 character (not a continuation byte).
    while (end < subject.size() && end > pos + 1 &&
           (static_cast<unsigned char>(subject[end]) & 0xC0) == 0x80) {
      --end;
    }
    words.push_back(
        absl::StrCat("=?UTF-8?B?",
                     absl::Base64Escape(subject.substr(pos, end - pos)), "?="));
    pos = end;
  }
  if (words.empty()) return "Subject: ";
  return absl::StrCat("Subject: ", absl::StrJoin(words, "\r\n "));
}

// `text` as quoted-printable (RFC 2045): line ends as CRLF, '=', control and
// non-ASCII bytes and trailing blanks as =XX, lines longer than 76
// characters broken with soft line breaks ("=" at the end).
std::string QuotedPrintable(absl::string_view text) {
  std::string lf = absl::StrReplaceAll(text, {{"\r\n", "\n"}, {"\r", "\n"}});
  std::string out;
  size_t line_start = 0;
  while (true) {
    size_t eol = lf.find('\n', line_start);
    absl::string_view line = absl::string_view(lf).substr(
        line_start,
        eol == std::string::npos ? std::string::npos : eol - line_start);
    size_t width = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(line[i]);
      const bool last = i + 1 == line.size();
      std::string piece;
      if (c == '=' || c >= 0x7f || (c < 0x20 && c != '\t') ||
          ((c == ' ' || c == '\t') && last)) {
        piece = absl::StrFormat("=%02X", c);
      } else {
        piece = std::string(1, static_cast<char>(c));
      }
      // Keep room for the soft break's '=' unless this ends the line.
      const size_t room = last ? kMaxLine : kMaxLine - 1;
      if (width + piece.size() > room) {
        absl::StrAppend(&out, "=\r\n");
        width = 0;
      }
      absl::StrAppend(&out, piece);
      width += piece.size();
    }
    if (eol == std::string::npos) break;
    absl::StrAppend(&out, "\r\n");
    line_start = eol + 1;
  }
  return out;
}

uint64_t Fnv1a(absl::string_view data) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         c == '-';
}

}  // namespace

std::string HtmlEscape(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"&", "&amp;"},
                                    {"<", "&lt;"},
                                    {">", "&gt;"},
                                    {"\"", "&quot;"},
                                    {"'", "&#39;"}});
}

absl::Status ValidateAddress(absl::string_view to) {
  auto refuse = [to](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("recipient \"", absl::CHexEscape(to.substr(0, 300)),
                     "\" is not one plain address (user@domain): ", why));
  };
  if (to.empty()) return refuse("it is empty");
  if (to.size() > kMaxAddress) return refuse("it is longer than 254 bytes");
  for (unsigned char c : to) {
    if (IsControl(c)) return refuse("it holds a control character (CR, LF...)");
    if (c >= 0x80) return refuse("it holds a non-ASCII byte");
    if (c == ' ' || c == ',' || c == ';' || c == '<' || c == '>' || c == '"' ||
        c == '(' || c == ')' || c == '\\' || c == '[' || c == ']' || c == ':') {
      return refuse(absl::StrCat("it holds '", std::string(1, c), "'"));
    }
  }
  const size_t at = to.find('@');
  if (at == absl::string_view::npos || to.find('@', at + 1) != to.npos) {
    return refuse("it needs exactly one '@'");
  }
  if (at == 0 || at + 1 == to.size()) {
    return refuse("it needs a name before and a domain after the '@'");
  }
  return absl::OkStatus();
}

std::string MessageToken(absl::string_view id) {
  std::string token;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool dot_between = c == '.' && i > 0 && i + 1 < id.size() &&
                             id[i - 1] != '.' && id[i + 1] != '.';
    if (IsTokenChar(c) || dot_between) {
      token.push_back(c);
    } else {
      absl::StrAppend(&token,
                      absl::StrFormat("=%02X", static_cast<unsigned char>(c)));
    }
  }
  if (token.empty()) return "=";  // never empty; "=" is no MessageToken
  if (token.size() > kMaxToken) {
    token = absl::StrCat(token.substr(0, kMaxToken - 17), "-",
                         absl::StrFormat("%016x", Fnv1a(id)));
  }
  return token;
}

bool IsMessageToken(absl::string_view token) {
  if (token.empty() || token.size() > kMaxToken) return false;
  if (token.front() == '.' || token.back() == '.') return false;
  for (size_t i = 0; i < token.size(); ++i) {
    const char c = token[i];
    if (c == '.' && token[i + 1] == '.') return false;
    if (c != '.' && c != '=' && !IsTokenChar(c)) return false;
  }
  return true;
}

absl::StatusOr<std::string> RenderRfc5322(const Email& email,
                                          absl::string_view message_id,
                                          absl::Time date,
                                          absl::string_view from) {
  absl::Status valid = ValidateAddress(email.to);
  if (!valid.ok()) return valid;
  if (!IsMessageToken(message_id)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "message id \"", absl::CHexEscape(message_id.substr(0, 100)),
        "\" is not a MessageToken()"));
  }
  // "=_" never occurs in quoted-printable text, so no body line can be
  // taken for the boundary.
  const std::string boundary = absl::StrCat("=_herald_", message_id);
  std::string out;
  absl::StrAppend(&out, "From: ", OneLine(from), "\r\n", "To: ", email.to,
                  "\r\n", SubjectHeader(email.subject), "\r\n", "Date: ",
                  absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", date,
                                   absl::UTCTimeZone()),
                  "\r\n", "Message-ID: <", message_id, "@herald.local>\r\n",
                  "MIME-Version: 1.0\r\n",
                  "Content-Type: multipart/alternative;\r\n", " boundary=\"",
                  boundary, "\"\r\n", "\r\n");
  absl::StrAppend(&out, "--", boundary, "\r\n",
                  "Content-Type: text/plain; charset=utf-8\r\n",
                  "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                  QuotedPrintable(email.text), "\r\n");
  absl::StrAppend(&out, "--", boundary, "\r\n",
                  "Content-Type: text/html; charset=utf-8\r\n",
                  "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                  QuotedPrintable(email.html), "\r\n");
  absl::StrAppend(&out, "--", boundary, "--\r\n");
  return out;
}

}  // namespace workers
}  // namespace herald
