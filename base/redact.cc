#include "base/redact.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace herald {
namespace {

// Where a URL written inside a longer text ends.
bool EndsUrl(char c) {
  return absl::ascii_isspace(static_cast<unsigned char>(c)) || c == '"' ||
         c == '\'' || c == '<' || c == '>';
}

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         c == '.' || c == '-';
}

// Where a parameter's name may start: after these, or at the start.
bool StartsParameter(char c) {
  return c == '?' || c == '&' || c == ';' || c == ',' || c == '"' ||
         c == '\'' || c == '(' ||
         absl::ascii_isspace(static_cast<unsigned char>(c));
}

// Where an unquoted parameter value ends.
bool EndsValue(char c) {
  return c == '&' || c == ';' || c == ',' || c == '"' || c == '#' || c == ')' ||
         absl::ascii_isspace(static_cast<unsigned char>(c));
}

// The password of each scheme://user:password@host in `text`, as
// [begin, end) offsets.
std::vector<std::pair<size_t, size_t>> UrlPasswords(absl::string_view text) {
  std::vector<std::pair<size_t, size_t>> found;
  size_t pos = 0;
  while (true) {
    const size_t scheme = text.find("://", pos);
    if (scheme == absl::string_view::npos) break;
    const size_t start = scheme + 3;
    size_t end = start;
    while (end < text.size() && !EndsUrl(text[end])) ++end;
    // The user info ends at the last '@' before the query: a password may
    // hold an (unencoded) '@', a query an email address.
    size_t query = start;
    while (query < end && text[query] != '?' && text[query] != '#') ++query;
    const absl::string_view authority = text.substr(start, query - start);
    const size_t at = authority.rfind('@');
    if (at != absl::string_view::npos) {
      const size_t colon = authority.substr(0, at).find(':');
      if (colon != absl::string_view::npos) {
        found.emplace_back(start + colon + 1, start + at);
      }
    }
    pos = std::max(start, end);
  }
  return found;
}

// The value of each secret-named name=value parameter in `text`, as
// [begin, end) offsets (a quoted conninfo value with its quotes).
std::vector<std::pair<size_t, size_t>> SecretParameters(
    absl::string_view text) {
  std::vector<std::pair<size_t, size_t>> found;
  for (size_t eq = text.find('='); eq != absl::string_view::npos;
       eq = text.find('=', eq + 1)) {
    size_t name = eq;
    while (name > 0 && IsNameChar(text[name - 1])) --name;
    if (name == eq) continue;
    if (name > 0 && !StartsParameter(text[name - 1])) continue;
    if (!IsSecretName(text.substr(name, eq - name))) continue;
    size_t end = eq + 1;
    if (end < text.size() && text[end] == '\'') {
      for (++end; end < text.size() && text[end] != '\''; ++end) {
        if (text[end] == '\\') ++end;
      }
      end = std::min(end + 1, text.size());
    } else {
      while (end < text.size() && !EndsValue(text[end])) ++end;
    }
    if (end > eq + 1) found.emplace_back(eq + 1, end);
  }
  return found;
}

// `text` with the [begin, end) ranges (in order, not overlapping) replaced
// by kRedacted.
std::string Mask(absl::string_view text,
                 const std::vector<std::pair<size_t, size_t>>& ranges) {
  std::string out;
  size_t pos = 0;
  for (const auto& [begin, end] : ranges) {
    if (begin < pos) continue;
    absl::StrAppend(&out, text.substr(pos, begin - pos), kRedacted);
    pos = end;
  }
  absl::StrAppend(&out, text.substr(pos));
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(static_cast<unsigned char>(c));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string PercentDecoded(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
        HexValue(s[i + 2]) >= 0) {
      out.push_back(
          static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

bool IsSecretName(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  return absl::StrContains(lower, "password") ||
         absl::StrContains(lower, "secret") || absl::StrContains(lower, "key");
}

std::string RedactUrl(absl::string_view text) {
  const std::string without_passwords = Mask(text, UrlPasswords(text));
  return Mask(without_passwords, SecretParameters(without_passwords));
}

std::string RedactValue(absl::string_view name, absl::string_view value) {
  if (IsSecretName(name)) return kRedacted;
  return RedactUrl(value);
}

std::vector<std::string> SecretsIn(absl::string_view url) {
  std::vector<std::pair<size_t, size_t>> ranges = UrlPasswords(url);
  for (const auto& range : SecretParameters(url)) ranges.push_back(range);
  std::vector<std::string> secrets;
  for (const auto& [begin, end] : ranges) {
    absl::string_view secret = url.substr(begin, end - begin);
    if (secret.size() >= 2 && secret.front() == '\'' && secret.back() == '\'') {
      secret = secret.substr(1, secret.size() - 2);
    }
    if (secret.empty()) continue;
    secrets.emplace_back(secret);
    std::string decoded = PercentDecoded(secret);
    if (decoded != secret) secrets.push_back(std::move(decoded));
  }
  return secrets;
}

std::string RedactText(absl::string_view text,
                       const std::vector<std::string>& secrets) {
  std::string out = RedactUrl(text);
  std::vector<std::string> longest_first = secrets;
  std::sort(longest_first.begin(), longest_first.end(),
            [](const std::string& a, const std::string& b) {
              return a.size() > b.size();
            });
  for (const std::string& secret : longest_first) {
    if (secret.empty()) continue;
    absl::StrReplaceAll({{secret, kRedacted}}, &out);
  }
  return out;
}

}  // namespace herald
