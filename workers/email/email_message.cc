#include "workers/email/email_message.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace herald {
namespace workers {
namespace {

// Header values must be one line.
std::string OneLine(absl::string_view value) {
  return absl::StrReplaceAll(value, {{"\r", " "}, {"\n", " "}});
}

std::string Crlf(absl::string_view text) {
  std::string lf = absl::StrReplaceAll(text, {{"\r\n", "\n"}});
  return absl::StrReplaceAll(lf, {{"\n", "\r\n"}});
}

// Non-ASCII subjects as an RFC 2047 encoded word (base64).
std::string EncodeHeaderWord(absl::string_view value) {
  bool ascii = true;
  for (unsigned char c : value) ascii &= c < 0x80;
  if (ascii) return std::string(value);
  static constexpr char kB64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out = "=?UTF-8?B?";
  size_t i = 0;
  for (; i + 2 < value.size(); i += 3) {
    uint32_t n = (uint8_t(value[i]) << 16) | (uint8_t(value[i + 1]) << 8) |
                 uint8_t(value[i + 2]);
    out += {kB64[n >> 18], kB64[(n >> 12) & 63], kB64[(n >> 6) & 63],
            kB64[n & 63]};
  }
  if (i + 1 == value.size()) {
    uint32_t n = uint8_t(value[i]) << 16;
    out += {kB64[n >> 18], kB64[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == value.size()) {
    uint32_t n = (uint8_t(value[i]) << 16) | (uint8_t(value[i + 1]) << 8);
    out += {kB64[n >> 18], kB64[(n >> 12) & 63], kB64[(n >> 6) & 63], '='};
  }
  return out + "?=";
}

}  // namespace

std::string HtmlEscape(absl::string_view text) {
  return absl::StrReplaceAll(
      text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

std::string RenderRfc5322(const Email& email, absl::string_view message_id,
                          absl::Time date, absl::string_view from) {
  const std::string boundary = absl::StrCat("herald-", message_id);
  std::string out;
  absl::StrAppend(
      &out, "From: ", OneLine(from), "\r\n", "To: ", OneLine(email.to), "\r\n",
      "Subject: ", EncodeHeaderWord(OneLine(email.subject)), "\r\n", "Date: ",
      absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", date,
                       absl::UTCTimeZone()),
      "\r\n", "Message-ID: <", message_id, "@herald.local>\r\n",
      "MIME-Version: 1.0\r\n",
      "Content-Type: multipart/alternative; boundary=\"", boundary, "\"\r\n",
      "\r\n");
  absl::StrAppend(&out, "--", boundary, "\r\n",
                  "Content-Type: text/plain; charset=utf-8\r\n",
                  "Content-Transfer-Encoding: 8bit\r\n\r\n", Crlf(email.text),
                  "\r\n");
  absl::StrAppend(&out, "--", boundary, "\r\n",
                  "Content-Type: text/html; charset=utf-8\r\n",
                  "Content-Transfer-Encoding: 8bit\r\n\r\n", Crlf(email.html),
                  "\r\n");
  absl::StrAppend(&out, "--", boundary, "--\r\n");
  return out;
}

}  // namespace workers
}  // namespace herald
