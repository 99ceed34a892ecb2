#include "gateway/http_answers.h"

#include <glog/logging.h>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "database/database.h"
#include "gateway/api_error.h"
#include "messaging/cloudevents.h"
#include "web/json.h"

namespace herald {
namespace gateway {
namespace {

std::string Quoted(absl::string_view s) {
  return json::serialize(json::string_view(s.data(), s.size()));
}

std::string PaymentJson(const Payment& p) {
  return absl::StrCat(
      R"({"payment_id":)", Quoted(p.payment_id), R"(,"user_id":)",
      Quoted(p.user_id), R"(,"amount":)", p.amount, R"(,"currency":)",
      Quoted(p.currency), R"(,"status":)", Quoted(p.status), R"(,"reason":)",
      Quoted(p.reason), R"(,"created_at":")", FormatEventTime(p.created_at),
      R"(","updated_at":")", FormatEventTime(p.updated_at), R"("})");
}

}  // namespace

RecordedAnswer HttpAnswers::PaymentCreated(const Payment& payment) const {
  return {201, PaymentJson(payment)};
}

RecordedAnswer HttpAnswers::PaymentStatusChanged(const Payment& payment) const {
  return {200, PaymentJson(payment)};
}

RecordedAnswer HttpAnswers::UserRegistered(const User& user) const {
  json::object o;
  o["user_id"] = user.user_id;
  o["email"] = user.email;
  o["name"] = user.name;
  o["registered_at"] = FormatEventTime(user.registered_at);
  return {201, json::serialize(o)};
}

RecordedAnswer HttpAnswers::EmailRequested(absl::string_view event_id) const {
  json::object o;
  o["status"] = "accepted";
  o["event_id"] = std::string(event_id);
  return {202, json::serialize(o)};
}

RecordedAnswer HttpAnswers::RealtimeMessagePublished(
    absl::string_view event_id, absl::string_view channel) const {
  json::object o;
  o["status"] = "accepted";
  o["event_id"] = std::string(event_id);
  o["channel"] = std::string(channel);
  return {202, json::serialize(o)};
}

web::Response ToResponse(Committed committed) {
  return web::Response::Json(committed.answer.status,
                             std::move(committed.answer.body));
}

web::Response ToResponse(Replayed replayed) {
  return web::Response::Json(replayed.answer.status,
                             std::move(replayed.answer.body));
}

web::Response ToResponse(const KeyReused&) {
  return web::Response::JsonError(
      409, "idempotency_key_reused",
      "this Idempotency-Key was already used for a different request");
}

web::Response ToResponse(const Payment& payment) {
  return web::Response::Json(200, PaymentJson(payment));
}

web::Response ToResponse(const PaymentNotFound& not_found) {
  return web::Response::JsonError(
      404, "payment_not_found",
      absl::StrCat("payment '", not_found.payment_id, "' does not exist"));
}

web::Response ToResponse(const TransitionNotAllowed& refused) {
  return web::Response::JsonError(
      409, "invalid_transition",
      absl::StrCat("payment '", refused.payment_id, "' cannot move from ",
                   refused.from, " to ", refused.to,
                   " (allowed: pending -> succeeded | failed | canceled)"));
}

web::Response ToResponse(const PaymentChangedConcurrently&) {
  return web::Response::JsonError(409, "conflict",
                                  "payment changed concurrently; try again");
}

web::Response ToResponse(const EmailTaken& taken) {
  return web::Response::JsonError(
      409, "email_taken",
      absl::StrCat("email '", taken.email, "' is already registered"));
}

web::Response RefusalResponse(const auth::Verdict& verdict) {
  switch (verdict.outcome) {
    case auth::Outcome::kForbidden:
      return web::Response::JsonError(
          403, "forbidden",
          absl::StrCat("API key '", verdict.key_name, "' lacks the scope '",
                       auth::ScopeName(verdict.scope), "'"));
    case auth::Outcome::kRateLimited: {
      web::Response response = web::Response::JsonError(
          429, "rate_limited",
          absl::StrCat("API key '", verdict.key_name,
                       "' is over its rate limit; retry after the time in "
                       "Retry-After"));
      // Whole seconds, rounded up: at least 1.
      const int64_t seconds =
          std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(
                                   verdict.retry_after, absl::Seconds(1))));
      response.headers.emplace_back("Retry-After", absl::StrCat(seconds));
      return response;
    }
    default: {
      web::Response response = web::Response::JsonError(
          401, "unauthenticated",
          "missing, unknown or revoked API key: send 'Authorization: Bearer "
          "<key>' (heraldctl keys create)");
      response.headers.emplace_back("WWW-Authenticate", "Bearer");
      return response;
    }
  }
}

web::Response ErrorResponse(const absl::Status& status) {
  if (db::IsCommitOutcomeUnknown(status)) {
    // Retrying with the same Idempotency-Key is safe: it answers what
    // committed, or writes it now.
    LOG(WARNING) << "request failed: " << status;
    web::Response unknown = web::Response::JsonError(
        503, "commit_outcome_unknown",
        "the database connection broke while committing; retry with the same "
        "Idempotency-Key");
    unknown.headers.emplace_back("Retry-After", "1");
    return unknown;
  }
  ApiError error = ToApiError(status);
  if (error.http_status >= 500 || !IsClientFacing(status)) {
    LOG(WARNING) << "request failed: " << status;
  }
  web::Response response = web::Response::JsonError(
      error.http_status, error.code, error.message, error.field);
  if (error.http_status == 503)
    response.headers.emplace_back("Retry-After", "1");
  return response;
}

}  // namespace gateway
}  // namespace herald
