// File: gateway/http_answers.h
//
// What the gateway answers over HTTP: the status code and JSON body for
// each outcome of gateway/store.h, and for errors. The one place where
// they are decided; the store only records the answers made here (for
// Idempotency-Key replays) and hands them back.
//
// clang-format off
//   outcome                      answer
//   Committed, Replayed          the recorded answer, as it is
//   (HttpAnswers) payment        201 created, 200 status changed: the payment
//   (HttpAnswers) user           201 {"user_id","email","name",...}
//   (HttpAnswers) email request  202 {"status":"accepted","event_id"}
//   (HttpAnswers) realtime msg   202 {"status":"accepted","event_id","channel"}
//   Payment (a read)             200 the payment
//   PaymentNotFound              404 payment_not_found
//   TransitionNotAllowed         409 invalid_transition
//   PaymentChangedConcurrently   409 conflict
//   EmailTaken                   409 email_taken
//   KeyReused                    409 idempotency_key_reused
//   COMMIT outcome unknown       503 commit_outcome_unknown (retry with
//                                the same Idempotency-Key)
//   an absl::Status error        by its code (gateway/api_error.h)
//   auth: no key, unknown key    401 unauthenticated (WWW-Authenticate)
//   auth: key without the scope  403 forbidden
//   auth: key over its rate      429 rate_limited (Retry-After, seconds)
// clang-format on
//
// Example:
//
//   HttpAnswers answers;
//   Store store(*db, "gateway", answers, relay.get());
//   store.CreatePayment(
//       std::move(command), key,
//       [respond](absl::StatusOr<CreatePaymentResult> result) {
//         respond(ToResponse(std::move(result)));
//       });
#ifndef HERALD_GATEWAY_HTTP_ANSWERS_H_
#define HERALD_GATEWAY_HTTP_ANSWERS_H_

#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/auth/authenticator.h"
#include "gateway/domain.h"
#include "gateway/store.h"
#include "web/http.h"

namespace herald {
namespace gateway {

// HttpAnswers
//
// The answers to writes that go through, made for the store to record.
// A payment's body is written directly, not through a JSON object: it is
// made on the hot path of every creation.
class HttpAnswers : public AnswerRenderer {
 public:
  RecordedAnswer PaymentCreated(const Payment& payment) const override;
  RecordedAnswer PaymentStatusChanged(const Payment& payment) const override;
  RecordedAnswer UserRegistered(const User& user) const override;
  RecordedAnswer EmailRequested(absl::string_view event_id) const override;
  RecordedAnswer RealtimeMessagePublished(
      absl::string_view event_id, absl::string_view channel) const override;
};

// ToResponse()
//
// The HTTP answer to one outcome.
web::Response ToResponse(Committed committed);
web::Response ToResponse(Replayed replayed);
web::Response ToResponse(const KeyReused&);
web::Response ToResponse(const Payment& payment);
web::Response ToResponse(const PaymentNotFound& not_found);
web::Response ToResponse(const TransitionNotAllowed& refused);
web::Response ToResponse(const PaymentChangedConcurrently& conflict);
web::Response ToResponse(const EmailTaken& taken);

// RefusalResponse()
//
// The answer to a request the Authenticator did not let through (any
// outcome but kAllowed).
web::Response RefusalResponse(const auth::Verdict& verdict);

// ErrorResponse()
//
// The JSON error for `status`: a request that failed validation
// (gateway/requests.h) or a failure of the store. Logs 5xx answers.
web::Response ErrorResponse(const absl::Status& status);

// The HTTP answer to an operation's result (one of the variants of
// gateway/store.h).
template <typename... Outcomes>
web::Response ToResponse(absl::StatusOr<std::variant<Outcomes...>> result) {
  if (!result.ok()) return ErrorResponse(result.status());
  return std::visit(
      [](auto& outcome) { return ToResponse(std::move(outcome)); }, *result);
}

}  // namespace gateway
}  // namespace herald

#endif  // HERALD_GATEWAY_HTTP_ANSWERS_H_
