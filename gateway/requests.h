// File: gateway/requests.h
//
// The gateway's request bodies, parsed and validated from JSON into the
// domain's commands (gateway/domain.h). Every parser rejects malformed
// JSON, a body that is not an object, unknown fields, missing required
// fields and values of the wrong type or range, with a FieldError() naming
// the field (see gateway/api_error.h).
//
// Example:
//
//   absl::StatusOr<CreatePayment> request = ParseCreatePayment(body);
//   if (!request.ok()) return request.status();  // -> HTTP 400 JSON error
#ifndef HERALD_GATEWAY_REQUESTS_H_
#define HERALD_GATEWAY_REQUESTS_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/domain.h"

namespace herald {
namespace gateway {

// POST /api/v1/payments
absl::StatusOr<CreatePayment> ParseCreatePayment(absl::string_view body);

// POST /api/v1/payments/{id}/status
absl::StatusOr<UpdatePaymentStatus> ParseUpdatePaymentStatus(
    absl::string_view body);

// POST /api/v1/users
absl::StatusOr<RegisterUser> ParseRegisterUser(absl::string_view body);

// POST /api/v1/notifications/email: subject and body, or a template.
absl::StatusOr<SendEmail> ParseSendEmail(absl::string_view body);

// True for an active ISO 4217 alphabetic code ("EUR", "USD", ...).
bool IsKnownCurrency(absl::string_view code);

// A pragmatic address check: one '@', a non-empty local part, a dotted
// domain of letters, digits and hyphens, no spaces, at most 254 characters.
bool IsValidEmail(absl::string_view email);

}  // namespace gateway
}  // namespace herald

#endif  // HERALD_GATEWAY_REQUESTS_H_
