// File: gateway/api_error.h
//
// How the gateway turns an absl::Status into an HTTP answer. Validation code
// returns statuses made with FieldError(); every error reaches the client as
// JSON `{"error": {"code", "message", "field"}}` with a 4xx status (5xx only
// for failures of the gateway itself, e.g. a database that stays locked).
//
// Example:
//
//   return herald::gateway::FieldError("amount", "must be greater than 0");
//   ...
//   herald::gateway::ApiError error = herald::gateway::ToApiError(status);
//   // error.http_status == 400, error.code == "invalid_field"
#ifndef HERALD_GATEWAY_API_ERROR_H_
#define HERALD_GATEWAY_API_ERROR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace herald {
namespace gateway {

struct ApiError {
  int http_status = 500;
  std::string code;     // machine-readable, e.g. "invalid_field"
  std::string message;  // for people
  std::string field;    // the offending request field, or empty
};

// FieldError()
//
// InvalidArgument about one request field (HTTP 400, code "invalid_field"
// unless `code` says otherwise, e.g. "missing_field" or "unknown_field").
absl::Status FieldError(absl::string_view field, absl::string_view message,
                        absl::string_view code = "invalid_field");

// WithApiCode()
//
// `status` tagged with an explicit API error code.
absl::Status WithApiCode(absl::Status status, absl::string_view code);

// ToApiError()
//
// HTTP status by absl code: InvalidArgument 400 (415 with the API code
// "unsupported_media_type"), NotFound 404,
// AlreadyExists/FailedPrecondition 409, ResourceExhausted 413 (the request is
// too large), Unavailable 503, anything else 500. Only a status made for
// the client (FieldError, WithApiCode) keeps its message; any other comes
// from below the HTTP layer (e.g. the database's error text) and gets a
// fixed message for its HTTP status instead (the caller logs the original).
ApiError ToApiError(const absl::Status& status);

// True when `status` was made for the client (FieldError, WithApiCode).
bool IsClientFacing(const absl::Status& status);

}  // namespace gateway
}  // namespace herald

#endif  // HERALD_GATEWAY_API_ERROR_H_
