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

#include <optional>

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

// POST /api/v1/realtime/channels/{channel}/messages: `channel` from the
// path, `{"event": "...", "data": <any JSON value>}` from the body. A bad
// channel is a 400 with code "invalid_channel".
absl::StatusOr<PublishRealtimeMessage> ParsePublishRealtimeMessage(
    absl::string_view channel, absl::string_view body);

// POST /api/v1/realtime/tokens: `{"user_id": ...}` (a string, or a
// non-negative integer like the payments' user_id) whose channel
// `user.<user_id>` is well-formed.
absl::StatusOr<IssueRealtimeToken> ParseIssueRealtimeToken(
    absl::string_view body);

// A write's Content-Type header (nullopt: none sent): none, or
// application/json with any parameters (e.g. charset=utf-8), case-
// insensitively. Otherwise InvalidArgument with API code
// "unsupported_media_type" (HTTP 415).
absl::Status CheckContentType(std::optional<absl::string_view> content_type);

// An Idempotency-Key header: 1 to 255 bytes of printable ASCII (0x20-0x7E),
// else a 400 (code "invalid_idempotency_key").
constexpr size_t kMaxIdempotencyKeyBytes = 255;
absl::Status CheckIdempotencyKey(absl::string_view key);

// True for an active ISO 4217 alphabetic code ("EUR", "USD", ...).
bool IsKnownCurrency(absl::string_view code);

// A pragmatic address check: one '@', a non-empty local part, a dotted
// domain of letters, digits and hyphens, no spaces, at most 254 characters.
bool IsValidEmail(absl::string_view email);

}  // namespace gateway
}  // namespace herald

#endif  // HERALD_GATEWAY_REQUESTS_H_
