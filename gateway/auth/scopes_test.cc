#include "gateway/auth/scopes.h"

#include <gtest/gtest.h>

#include <set>

#include "absl/strings/match.h"
#include "gateway/auth/secrets.h"

namespace herald {
namespace gateway {
namespace auth {
namespace {

TEST(ScopesTest, ParsesAndPrintsEveryScope) {
  auto all = ParseScopes(
      "payments:write, payments:status,payments:read,users:write,"
      "notifications:send,realtime:publish,realtime:tokens");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, ScopeSet::All());
  EXPECT_EQ(ParseScopes(all->ToString()).value(), *all);
  auto one = ParseScopes("users:write");
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(one->Has(Scope::kUsersWrite));
  EXPECT_FALSE(one->Has(Scope::kPaymentsWrite));
  EXPECT_EQ(ScopeName(Scope::kNotificationsSend), "notifications:send");
}

TEST(ScopesTest, UnknownOrNoScopesAreRefused) {
  auto unknown = ParseScopes("payments:write,payments:delete");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(unknown.status().message(), "payments:delete"));
  EXPECT_FALSE(ParseScopes("").ok());
  EXPECT_FALSE(ParseScopes(" , ").ok());
}

TEST(SecretsTest, RandomPrefixedAndDigested) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto secret = NewSecret();
    ASSERT_TRUE(secret.ok());
    EXPECT_TRUE(absl::StartsWith(*secret, "hk_"));
    EXPECT_EQ(secret->size(), 3u + 43u);  // 256 bits in base64url
    EXPECT_TRUE(seen.insert(*secret).second);
  }
  // SHA-256("abc"), FIPS 180-2.
  EXPECT_EQ(DigestOf("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(SameDigest(DigestOf("x"), DigestOf("x")));
  EXPECT_FALSE(SameDigest(DigestOf("x"), DigestOf("y")));
  EXPECT_FALSE(SameDigest("ab", "abc"));
}

}  // namespace
}  // namespace auth
}  // namespace gateway
}  // namespace herald
