#include "messaging/realtime/token.h"

#include <gtest/gtest.h>

#include "absl/time/clock.h"

namespace herald {
namespace realtime {
namespace {

constexpr absl::string_view kSecret = "0123456789abcdef-test";

TEST(TokenTest, SignedTokenVerifies) {
  const absl::Time now = absl::Now();
  const std::string token =
      SignToken(kSecret, "user_42", now + absl::Minutes(5));
  absl::StatusOr<TokenClaims> claims = VerifyToken(kSecret, token, now);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->user_id, "user_42");
  EXPECT_EQ(token.find_first_of("+/=\n "), std::string::npos) << token;
}

TEST(TokenTest, ExpiredTokenIsRefused) {
  const absl::Time now = absl::Now();
  const std::string token =
      SignToken(kSecret, "user_42", now - absl::Seconds(1));
  absl::StatusOr<TokenClaims> claims = VerifyToken(kSecret, token, now);
  EXPECT_TRUE(absl::IsUnauthenticated(claims.status()));
  EXPECT_EQ(claims.status().message(), "token expired");
}

TEST(TokenTest, OtherSecretOrChangedPayloadIsRefused) {
  const absl::Time now = absl::Now();
  const std::string token =
      SignToken(kSecret, "user_42", now + absl::Minutes(5));
  EXPECT_TRUE(absl::IsUnauthenticated(
      VerifyToken("another-secret-0123456", token, now).status()));
  // The payload of user_43 under user_42's MAC.
  const std::string other =
      SignToken(kSecret, "user_43", now + absl::Minutes(5));
  const std::string forged =
      other.substr(0, other.rfind('.')) + token.substr(token.rfind('.'));
  EXPECT_EQ(VerifyToken(kSecret, forged, now).status().message(),
            "bad token signature");
  for (const char* bad : {"", "rt1", "rt1..", "rt2.a.b", "x.y.z.w"}) {
    EXPECT_TRUE(
        absl::IsUnauthenticated(VerifyToken(kSecret, bad, now).status()))
        << bad;
  }
}

TEST(TokenTest, ShortSecretClosesUserChannels) {
  EXPECT_TRUE(absl::IsFailedPrecondition(
      VerifyToken("", "rt1.a.b", absl::Now()).status()));
}

}  // namespace
}  // namespace realtime
}  // namespace herald
