#include "workers/email/templates.h"

#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace herald {
namespace workers {
namespace {

struct Template {
  const char* subject;
  const char* text;
  const char* html;
};

const std::map<std::string, Template, std::less<>>& Templates() {
  static const auto* templates = new std::map<std::string, Template,
                                              std::less<>>{
      {"welcome",
       {"Welcome to Herald, {{name}}!",
        "Hello {{name}},\n\nwelcome aboard. Your account is ready.\n\n"
        "-- Herald",
        "<p>Hello {{name}},</p><p>welcome aboard. Your account is ready.</p>"
        "<p>-- Herald</p>"}},
      {"payment_confirmation",
       {"We received your payment of {{amount}}",
        "Hello {{name}},\n\nwe received your payment {{payment_id}} of "
        "{{amount}}. It is being processed.\n\n-- Herald",
        "<p>Hello {{name}},</p><p>we received your payment "
        "<code>{{payment_id}}</code> of <b>{{amount}}</b>. It is being "
        "processed.</p><p>-- Herald</p>"}},
      {"payment_status",
       {"Your payment is now {{new_status}}",
        "Hello {{name}},\n\nyour payment {{payment_id}} moved from "
        "{{old_status}} to {{new_status}}. {{reason}}\n\n-- Herald",
        "<p>Hello {{name}},</p><p>your payment <code>{{payment_id}}</code> "
        "moved from {{old_status}} to <b>{{new_status}}</b>. {{reason}}</p>"
        "<p>-- Herald</p>"}},
  };
  return *templates;
}

std::string Substitute(absl::string_view text,
                       const TemplateVariables& variables, bool html) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find("{{", pos);
    if (open == absl::string_view::npos) break;
    size_t close = text.find("}}", open + 2);
    if (close == absl::string_view::npos) break;
    absl::StrAppend(&out, text.substr(pos, open - pos));
    auto it =
        variables.find(std::string(text.substr(open + 2, close - open - 2)));
    if (it != variables.end()) {
      out += html ? HtmlEscape(it->second) : it->second;
    }
    pos = close + 2;
  }
  absl::StrAppend(&out, text.substr(pos));
  return out;
}

}  // namespace

absl::StatusOr<Email> RenderTemplate(absl::string_view name,
                                     const TemplateVariables& variables,
                                     absl::string_view to) {
  auto it = Templates().find(name);
  if (it == Templates().end()) {
    return absl::NotFoundError(absl::StrCat("no email template '", name, "'"));
  }
  Email email;
  email.to = std::string(to);
  email.subject = Substitute(it->second.subject, variables, false);
  email.text = Substitute(it->second.text, variables, false);
  email.html = Substitute(it->second.html, variables, true);
  return email;
}

std::string FormatAmount(int64_t minor_units, absl::string_view currency) {
  static const auto* zero = new std::set<std::string, std::less<>>{
      "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW",
      "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"};
  static const auto* three = new std::set<std::string, std::less<>>{
      "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"};
  int exponent = zero->count(currency) ? 0 : three->count(currency) ? 3 : 2;
  if (exponent == 0) return absl::StrCat(minor_units, " ", currency);
  int64_t scale = exponent == 3 ? 1000 : 100;
  bool negative = minor_units < 0;
  uint64_t v = negative ? -static_cast<uint64_t>(minor_units) : minor_units;
  return absl::StrFormat("%s%d.%0*d %s", negative ? "-" : "", v / scale,
                         exponent, static_cast<int>(v % scale), currency);
}

}  // namespace workers
}  // namespace herald
