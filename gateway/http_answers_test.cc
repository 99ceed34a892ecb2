// Every answer of the gateway, byte for byte: the status code and JSON body
// each domain outcome becomes. Clients depend on these exact bytes, and an
// Idempotency-Key replays them from the database.
#include "gateway/http_answers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gateway/api_error.h"

namespace herald {
namespace gateway {
namespace {

Payment APayment() {
  Payment p;
  p.payment_id = "pay_1";
  p.user_id = "u\"1\\";
  p.amount = 1999;
  p.currency = "EUR";
  p.status = "failed";
  p.reason = "line one\nline two";
  p.created_at = absl::FromUnixMillis(1764662400123);  // 2025-12-02
  p.updated_at = absl::FromUnixMillis(1764662401456);
  return p;
}

constexpr char kPaymentJson[] =
    R"({"payment_id":"pay_1","user_id":"u\"1\\","amount":1999,)"
    R"("currency":"EUR","status":"failed","reason":"line one\nline two",)"
    R"("created_at":"2025-12-02T08:00:00.123Z",)"
    R"("updated_at":"2025-12-02T08:00:01.456Z"})";

TEST(HttpAnswersTest, WritesThatGoThrough) {
  HttpAnswers answers;
  RecordedAnswer created = answers.PaymentCreated(APayment());
  EXPECT_EQ(created.status, 201);
  EXPECT_EQ(created.body, kPaymentJson);
  RecordedAnswer changed = answers.PaymentStatusChanged(APayment());
  EXPECT_EQ(changed.status, 200);
  EXPECT_EQ(changed.body, kPaymentJson);

  User user{"user_1", "ada@example.com", "Ada \"L\"",
            absl::FromUnixMillis(1764662400123)};
  RecordedAnswer registered = answers.UserRegistered(user);
  EXPECT_EQ(registered.status, 201);
  EXPECT_EQ(
      registered.body,
      R"({"user_id":"user_1","email":"ada@example.com",)"
      R"("name":"Ada \"L\"","registered_at":"2025-12-02T08:00:00.123Z"})");

  RecordedAnswer email = answers.EmailRequested("e-1");
  EXPECT_EQ(email.status, 202);
  EXPECT_EQ(email.body, R"({"status":"accepted","event_id":"e-1"})");
}

TEST(HttpAnswersTest, RecordedAnswersGoOutAsTheyAre) {
  web::Response committed = ToResponse(Committed{{201, "{\"a\":1}"}});
  EXPECT_EQ(committed.status, 201);
  EXPECT_EQ(committed.body, "{\"a\":1}");
  EXPECT_EQ(committed.content_type, "application/json");
  web::Response replayed = ToResponse(Replayed{{202, "{\"b\":2}"}});
  EXPECT_EQ(replayed.status, 202);
  EXPECT_EQ(replayed.body, "{\"b\":2}");
  web::Response read = ToResponse(APayment());
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(read.body, kPaymentJson);
}

TEST(HttpAnswersTest, Refusals) {
  const std::string transition =
      "payment 'pay_x' cannot move from failed to succeeded"
      " (allowed: pending -> succeeded | failed | canceled)";
  struct Case {
    web::Response response;
    int status;
    std::string body;
  };
  for (const Case& c : std::vector<Case>{
           {ToResponse(PaymentNotFound{"pay_x"}), 404,
            R"({"error":{"code":"payment_not_found",)"
            R"("message":"payment 'pay_x' does not exist","field":null}})"},
           {ToResponse(TransitionNotAllowed{"pay_x", "failed", "succeeded"}),
            409,
            R"({"error":{"code":"invalid_transition","message":")" +
                transition + R"(","field":null}})"},
           {ToResponse(PaymentChangedConcurrently{"pay_x"}), 409,
            R"({"error":{"code":"conflict",)"
            R"("message":"payment changed concurrently; try again",)"
            R"("field":null}})"},
           {ToResponse(EmailTaken{"ada@example.com"}), 409,
            R"({"error":{"code":"email_taken",)"
            R"("message":"email 'ada@example.com' is already registered",)"
            R"("field":null}})"},
           {ToResponse(KeyReused{}), 409,
            R"({"error":{"code":"idempotency_key_reused","message":)"
            R"("this Idempotency-Key was already used for a different )"
            R"(request","field":null}})"},
       }) {
    EXPECT_EQ(c.response.status, c.status) << c.body;
    EXPECT_EQ(c.response.body, c.body);
    EXPECT_EQ(c.response.content_type, "application/json");
  }
}

TEST(HttpAnswersTest, ErrorsAnswerByTheirCode) {
  web::Response invalid =
      ErrorResponse(FieldError("amount", "must be greater than 0"));
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(invalid.body,
            R"({"error":{"code":"invalid_field",)"
            R"("message":"must be greater than 0","field":"amount"}})");
  web::Response unavailable =
      ErrorResponse(absl::UnavailableError("database is locked"));
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(unavailable.body,
            R"({"error":{"code":"unavailable",)"
            R"("message":"the service is unavailable; retry later",)"
            R"("field":null}})");
  EXPECT_THAT(unavailable.headers,
              ::testing::Contains(::testing::Pair("Retry-After", "1")));
}

// The database's error text (table names, SQL, values) stays in the log.
TEST(HttpAnswersTest, DatabaseErrorTextIsNotAnswered) {
  for (const absl::Status& status :
       {absl::InvalidArgumentError(
            "query: ERROR:  invalid byte sequence for encoding \"UTF8\""),
        absl::InternalError("query: relation \"payments\" does not exist"),
        absl::AlreadyExistsError("duplicate key value violates "
                                 "\"idempotency_keys_pkey\"")}) {
    web::Response answer = ErrorResponse(status);
    EXPECT_THAT(answer.body, ::testing::Not(::testing::HasSubstr("query")));
    EXPECT_THAT(answer.body, ::testing::Not(::testing::HasSubstr("key")));
    EXPECT_THAT(answer.body, ::testing::Not(::testing::HasSubstr("relation")));
  }
}

TEST(HttpAnswersTest, EchoedBytesThatAreNotUtf8StayValidJson) {
  web::Response answer = ToResponse(PaymentNotFound{"pay_\xff\xc3("});
  EXPECT_TRUE(web::IsValidUtf8(answer.body)) << answer.body;
  EXPECT_THAT(answer.body, ::testing::HasSubstr(R"(pay_\ufffd\ufffd()"));
}

TEST(HttpAnswersTest, AResultAnswersWithItsOutcomeOrItsError) {
  absl::StatusOr<UpdatePaymentStatusResult> refused =
      UpdatePaymentStatusResult(PaymentNotFound{"pay_x"});
  EXPECT_EQ(ToResponse(std::move(refused)).status, 404);
  absl::StatusOr<CreatePaymentResult> failed =
      absl::InternalError("disk I/O error");
  EXPECT_EQ(ToResponse(std::move(failed)).status, 500);
}

}  // namespace
}  // namespace gateway
}  // namespace herald
