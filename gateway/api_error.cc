#include "gateway/api_error.h"

#include "absl/strings/cord.h"

namespace herald {
namespace gateway {
namespace {

constexpr char kFieldPayload[] = "herald.dev/field";
constexpr char kCodePayload[] = "herald.dev/code";

std::string Payload(const absl::Status& status, const char* url) {
  auto value = status.GetPayload(url);
  return value.has_value() ? std::string(*value) : std::string();
}

}  // namespace

absl::Status FieldError(absl::string_view field, absl::string_view message,
                        absl::string_view code) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kFieldPayload, absl::Cord(field));
  return WithApiCode(std::move(status), code);
}

absl::Status WithApiCode(absl::Status status, absl::string_view code) {
  status.SetPayload(kCodePayload, absl::Cord(code));
  return status;
}

bool IsClientFacing(const absl::Status& status) {
  return status.GetPayload(kCodePayload).has_value();
}

ApiError ToApiError(const absl::Status& status) {
  ApiError error;
  const bool client_facing = IsClientFacing(status);
  error.message = std::string(status.message());
  error.field = Payload(status, kFieldPayload);
  error.code = Payload(status, kCodePayload);
  std::string default_code;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      error.http_status = error.code == "unsupported_media_type" ? 415 : 400;
      default_code = "invalid_request";
      break;
    case absl::StatusCode::kNotFound:
      error.http_status = 404;
      default_code = "not_found";
      break;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
      error.http_status = 409;
      default_code = "conflict";
      break;
    case absl::StatusCode::kResourceExhausted:
      error.http_status = 413;
      default_code = "payload_too_large";
      break;
    case absl::StatusCode::kUnavailable:
      error.http_status = 503;
      default_code = "unavailable";
      break;
    default:
      error.http_status = 500;
      default_code = "internal";
      break;
  }
  if (error.code.empty()) error.code = default_code;
  if (!client_facing) {
    error.field.clear();
    switch (error.http_status) {
      case 400:
        error.message = "the request could not be processed";
        break;
      case 404:
        error.message = "not found";
        break;
      case 409:
        error.message = "the request conflicts with the current state";
        break;
      case 413:
        error.message = "the request is too large";
        break;
      case 503:
        error.message = "the service is unavailable; retry later";
        break;
      default:
        error.message = "internal error";
    }
  }
  return error;
}

}  // namespace gateway
}  // namespace herald
