// File: workers/email/templates.h
//
// The email templates the worker knows, rendered with `{{name}}` variables
// (HTML-escaped in the HTML part). Built in: "welcome" (name),
// "payment_confirmation" (name, amount, payment_id), "payment_status" (name,
// payment_id, old_status, new_status, reason). A missing variable renders
// empty; an unknown template is NotFound.
#ifndef HERALD_WORKERS_EMAIL_TEMPLATES_H_
#define HERALD_WORKERS_EMAIL_TEMPLATES_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "workers/email/email_message.h"

namespace herald {
namespace workers {

using TemplateVariables = std::map<std::string, std::string>;

absl::StatusOr<Email> RenderTemplate(absl::string_view name,
                                     const TemplateVariables& variables,
                                     absl::string_view to);

// "19.99 EUR" from minor units, with the currency's ISO 4217 exponent.
std::string FormatAmount(int64_t minor_units, absl::string_view currency);

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_EMAIL_TEMPLATES_H_
