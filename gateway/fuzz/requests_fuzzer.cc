// Fuzz target: each route's request parsing and validation
// (gateway/requests.h), and the JSON error answer a rejection becomes.
//
// Every input is offered to all four parsers as a request body. Properties:
//   - a parser never throws;
//   - a rejection is a 400 with a non-empty code and message, and its JSON
//     error body (ErrorResponse) parses back with the same code and message;
//   - an accepted request satisfies what the route promises its handler
//     (amount range and currency, status names, a valid lower-case email,
//     a one-line subject, the length limits).
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "base/testing/fuzz_check.h"
#include "gateway/api_error.h"
#include "gateway/http_answers.h"
#include "gateway/requests.h"
#include "web/json.h"

namespace herald {
namespace gateway {
namespace {

// A rejection: a client's mistake, answered as one.
void CheckRejection(const absl::Status& status, absl::string_view route) {
  const ApiError error = ToApiError(status);
  FUZZ_CHECK(error.http_status == 400)
      << route << ": " << status << " answers " << error.http_status;
  FUZZ_CHECK(!error.code.empty()) << route << ": " << status;
  FUZZ_CHECK(!error.message.empty()) << route << ": " << status;

  const web::Response response = ErrorResponse(status);
  FUZZ_CHECK(response.status == 400) << route << ": " << response.status;
  json::error_code ec;
  const json::value body = json::parse(response.body, ec);
  FUZZ_CHECK(!ec) << route << ": error body is not JSON: " << response.body;
  const json::object* answer = body.is_object() ? &body.as_object() : nullptr;
  const json::value* inner =
      answer != nullptr ? answer->if_contains("error") : nullptr;
  FUZZ_CHECK(inner != nullptr && inner->is_object()) << response.body;
  const json::value* code = inner->as_object().if_contains("code");
  const json::value* message = inner->as_object().if_contains("message");
  FUZZ_CHECK(code != nullptr && code->is_string() &&
             code->as_string() == error.code)
      << response.body;
  FUZZ_CHECK(message != nullptr && message->is_string() &&
             message->as_string() == error.message)
      << response.body;
}

bool NotBlank(absl::string_view s) {
  return !absl::StripAsciiWhitespace(s).empty();
}

template <typename Parser, typename Accepted>
void Check(Parser parse, absl::string_view route, absl::string_view body,
           Accepted check_accepted) {
  try {
    auto request = parse(body);
    if (request.ok()) {
      check_accepted(*request);
    } else {
      CheckRejection(request.status(), route);
    }
  } catch (const std::exception& e) {
    FUZZ_CHECK(false) << route << " threw: " << e.what();
  }
}

}  // namespace
}  // namespace gateway
}  // namespace herald

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace herald::gateway;  // NOLINT: one target, one namespace
  const absl::string_view body(reinterpret_cast<const char*>(data), size);

  Check(ParseCreatePayment, "POST /api/v1/payments", body,
        [](const CreatePayment& r) {
          FUZZ_CHECK(NotBlank(r.user_id) && r.user_id.size() <= 64)
              << r.user_id;
          FUZZ_CHECK(r.amount > 0 && r.amount <= 1'000'000'000'000'000)
              << r.amount;
          FUZZ_CHECK(IsKnownCurrency(r.currency)) << r.currency;
        });
  Check(ParseUpdatePaymentStatus, "POST /api/v1/payments/{id}/status", body,
        [](const UpdatePaymentStatus& r) {
          FUZZ_CHECK(r.status == "succeeded" || r.status == "failed" ||
                     r.status == "canceled" || r.status == "pending")
              << r.status;
          FUZZ_CHECK(r.reason.size() <= 1000) << r.reason.size();
        });
  Check(ParseRegisterUser, "POST /api/v1/users", body,
        [](const RegisterUser& r) {
          FUZZ_CHECK(IsValidEmail(r.email)) << r.email;
          FUZZ_CHECK(r.email == absl::AsciiStrToLower(r.email)) << r.email;
          FUZZ_CHECK(NotBlank(r.name) && r.name.size() <= 200) << r.name;
        });
  Check(ParseSendEmail, "POST /api/v1/notifications/email", body,
        [](const SendEmail& r) {
          FUZZ_CHECK(IsValidEmail(r.to)) << r.to;
          FUZZ_CHECK(r.subject.find_first_of("\r\n") == std::string::npos)
              << r.subject;
          FUZZ_CHECK(r.subject.size() <= 998) << r.subject.size();
          FUZZ_CHECK(r.body.size() <= 256 * 1024) << r.body.size();
          if (r.template_name.has_value()) {
            FUZZ_CHECK(NotBlank(*r.template_name)) << *r.template_name;
          } else {
            FUZZ_CHECK(NotBlank(r.subject) && NotBlank(r.body));
            FUZZ_CHECK(r.variables.empty());
          }
        });
  return 0;
}
