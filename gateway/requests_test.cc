// Request validation: each class of bad input gets a 4xx with the field.
#include "gateway/requests.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/api_error.h"

namespace herald {
namespace gateway {
namespace {

using ::testing::HasSubstr;

// The API error a body produces, or a failure if it was accepted.
template <typename Parser>
ApiError RejectionOf(Parser parse, absl::string_view body) {
  auto result = parse(body);
  EXPECT_FALSE(result.ok()) << "accepted: " << body;
  return ToApiError(result.status());
}

TEST(RequestsTest, ValidPayment) {
  auto p =
      ParseCreatePayment(R"({"user_id":"u1","amount":1999,"currency":"EUR"})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->user_id, "u1");
  EXPECT_EQ(p->amount, 1999);
  EXPECT_EQ(p->currency, "EUR");
}

// The seed's clients send a numeric user id: it is taken as its decimal
// string.
TEST(RequestsTest, NumericUserIdIsItsDecimalString) {
  auto p =
      ParseCreatePayment(R"({"user_id":456,"amount":10000,"currency":"USD"})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->user_id, "456");
  auto big = ParseCreatePayment(
      R"({"user_id":18446744073709551615,"amount":1,"currency":"USD"})");
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->user_id, "18446744073709551615");
}

TEST(RequestsTest, ContentTypeMustBeJson) {
  EXPECT_TRUE(CheckContentType(std::nullopt).ok());
  EXPECT_TRUE(CheckContentType("application/json").ok());
  EXPECT_TRUE(CheckContentType("Application/JSON; charset=utf-8").ok());
  for (absl::string_view other :
       {"application/x-www-form-urlencoded", "text/plain", "",
        "application/jsonx", "multipart/form-data; boundary=x"}) {
    ApiError e = ToApiError(CheckContentType(other));
    EXPECT_EQ(e.http_status, 415) << other;
    EXPECT_EQ(e.code, "unsupported_media_type") << other;
  }
}

TEST(RequestsTest, IdempotencyKeyIsBounded) {
  EXPECT_TRUE(CheckIdempotencyKey("order-42").ok());
  EXPECT_TRUE(CheckIdempotencyKey(std::string(255, 'k')).ok());
  for (const std::string& bad :
       {std::string(256, 'k'), std::string(3000, 'k'), std::string(""),
        std::string("tab\there"), std::string("caf\xc3\xa9")}) {
    ApiError e = ToApiError(CheckIdempotencyKey(bad));
    EXPECT_EQ(e.http_status, 400) << bad.size();
    EXPECT_EQ(e.code, "invalid_idempotency_key");
  }
}

TEST(RequestsTest, PaymentRejections) {
  struct Case {
    std::string body, code, field, message;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"user_id":"u1","amount":19)", "invalid_json", "",
            "not valid JSON"},
           {R"([1,2])", "invalid_json", "", "must be a JSON object"},
           {R"({"amount":1,"currency":"EUR"})", "missing_field", "user_id",
            "required"},
           {R"({"user_id":true,"amount":1,"currency":"EUR"})", "invalid_field",
            "user_id", "must be a string"},
           {R"({"user_id":-7,"amount":1,"currency":"EUR"})", "invalid_field",
            "user_id", "non-negative integer"},
           {R"({"user_id":4.5,"amount":1,"currency":"EUR"})", "invalid_field",
            "user_id", "must be a string"},
           {R"({"user_id":"u","amount":"10","currency":"EUR"})",
            "invalid_field", "amount", "must be an integer"},
           {R"({"user_id":"u","amount":10.5,"currency":"EUR"})",
            "invalid_field", "amount", "must be an integer"},
           {R"({"user_id":"u","amount":0,"currency":"EUR"})", "invalid_field",
            "amount", "greater than 0"},
           {R"({"user_id":"u","amount":-5,"currency":"EUR"})", "invalid_field",
            "amount", "greater than 0"},
           {R"({"user_id":"u","amount":99999999999999999999,"currency":"EUR"})",
            "invalid_field", "amount", "too large"},
           {R"({"user_id":"u","amount":5,"currency":"XYZ"})", "invalid_field",
            "currency", "ISO 4217"},
           {R"({"user_id":"u","amount":5,"currency":"eur"})", "invalid_field",
            "currency", "ISO 4217"},
           {R"({"user_id":"u","amount":5,"currency":"EUR","tip":1})",
            "unknown_field", "tip", "unknown field 'tip'"},
       }) {
    ApiError e = RejectionOf(ParseCreatePayment, c.body);
    EXPECT_EQ(e.http_status, 400) << c.body;
    EXPECT_EQ(e.code, c.code) << c.body;
    EXPECT_EQ(e.field, c.field) << c.body;
    EXPECT_THAT(e.message, HasSubstr(c.message)) << c.body;
  }
}

TEST(RequestsTest, UsersAndEmails) {
  auto user = ParseRegisterUser(R"({"email":"Ada@Example.COM","name":"Ada"})");
  ASSERT_TRUE(user.ok()) << user.status();
  EXPECT_EQ(user->email, "ada@example.com");
  for (const char* bad : {"ada", "ada@", "@x.com", "ada@x", "a b@x.com",
                          "ada@x..com", "ada@-x.com", "a@b@c.com"}) {
    EXPECT_FALSE(IsValidEmail(bad)) << bad;
  }
  ApiError e = RejectionOf(ParseRegisterUser, R"({"email":"nope","name":"A"})");
  EXPECT_EQ(e.field, "email");
  e = RejectionOf(ParseRegisterUser, R"({"email":"a@b.co","name":""})");
  EXPECT_EQ(e.field, "name");
}

TEST(RequestsTest, StatusAndNotification) {
  EXPECT_TRUE(
      ParseUpdatePaymentStatus(R"({"status":"failed","reason":"card"})").ok());
  EXPECT_EQ(RejectionOf(ParseUpdatePaymentStatus, R"({"status":"done"})").field,
            "status");
  auto plain = ParseSendEmail(R"({"to":"a@b.co","subject":"Hi","body":"Yo"})");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->template_name.has_value());
  auto templated = ParseSendEmail(
      R"({"to":"a@b.co","template":"welcome","variables":{"name":"Ada"}})");
  ASSERT_TRUE(templated.ok()) << templated.status();
  EXPECT_EQ(*templated->template_name, "welcome");
  EXPECT_EQ(templated->variables.at("name"), "Ada");
  EXPECT_EQ(
      RejectionOf(ParseSendEmail, R"({"to":"a@b.co","subject":"Hi"})").field,
      "body");
  EXPECT_EQ(RejectionOf(ParseSendEmail,
                        R"({"to":"a@b.co","template":"w","variables":{"n":1}})")
                .field,
            "variables.n");
}

TEST(ApiErrorTest, StatusMapsToHttp) {
  ApiError e = ToApiError(FieldError("amount", "must be positive"));
  EXPECT_EQ(e.http_status, 400);
  EXPECT_EQ(e.code, "invalid_field");
  EXPECT_EQ(e.field, "amount");
  EXPECT_EQ(ToApiError(absl::NotFoundError("x")).http_status, 404);
  EXPECT_EQ(ToApiError(absl::AlreadyExistsError("x")).http_status, 409);
  EXPECT_EQ(ToApiError(absl::UnavailableError("x")).http_status, 503);
}

}  // namespace
}  // namespace gateway
}  // namespace herald
