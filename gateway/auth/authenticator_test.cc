// The api_keys table and the Authenticator against real databases (a SQLite
// file; a throwaway PostgreSQL server).
#include "gateway/auth/authenticator.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "database/testing/backends.h"
#include "gateway/auth/api_keys.h"
#include "gateway/schema.h"
#include "messaging/testing/test_support.h"

namespace herald {
namespace gateway {
namespace auth {
namespace {

using herald::testing::WaitFor;

class AuthenticatorTest : public db::testing::ForEachBackend {
 protected:
  void SetUp() override {
    ForEachBackend::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto db = db::Database::Open(DatabaseUrl());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(MigrateGatewayDatabase(*db_).ok());
  }

  std::string Create(const std::string& name, const std::string& scopes) {
    auto secret = CreateApiKey(*db_, name, ParseScopes(scopes).value());
    EXPECT_TRUE(secret.ok()) << secret.status();
    return secret.value_or("");
  }

  static std::string Bearer(const std::string& secret) {
    return "Bearer " + secret;
  }

  std::unique_ptr<db::Database> db_;
};

TEST_P(AuthenticatorTest, KeysAreStoredOnlyAsDigests) {
  const std::string secret = Create("billing", "payments:write");
  auto rows = db_->ReadValue<std::vector<db::Row>>([](db::Transaction& tx) {
    return tx.Query(
        "SELECT name, secret_sha256, scopes, created_at, last_used_at,"
        " revoked_at FROM api_keys");
  });
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_FALSE(absl::StrContains((*rows)[0].String(i), secret.substr(3)))
        << "column " << i << " holds the secret";
  }
  EXPECT_EQ((*rows)[0].String(1).size(), 64u);  // hex SHA-256
  // A name is never reused, not even a revoked one's.
  EXPECT_EQ(CreateApiKey(*db_, "billing", ScopeSet::All()).status().code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(RevokeApiKey(*db_, "billing").ok());
  EXPECT_EQ(CreateApiKey(*db_, "billing", ScopeSet::All()).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(RevokeApiKey(*db_, "nobody").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(CreateApiKey(*db_, "a:b", ScopeSet::All()).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto listed = ListApiKeys(*db_);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name, "billing");
  EXPECT_TRUE((*listed)[0].revoked_at.has_value());
}

TEST_P(AuthenticatorTest, VerdictsForEachKindOfRequest) {
  const std::string writer = Create("writer", "payments:write,payments:read");
  const std::string revoked = Create("gone", "payments:write");
  ASSERT_TRUE(RevokeApiKey(*db_, "gone").ok());
  AuthenticatorOptions options;
  options.rate_limit_per_second = 0;
  auto authenticator = Authenticator::Start(*db_, options);
  ASSERT_TRUE(authenticator.ok()) << authenticator.status();
  Authenticator& a = **authenticator;

  Verdict ok = a.Check(Bearer(writer), Scope::kPaymentsWrite);
  EXPECT_EQ(ok.outcome, Outcome::kAllowed);
  EXPECT_EQ(ok.key_name, "writer");
  EXPECT_EQ(a.Check("bearer   " + writer, Scope::kPaymentsRead).outcome,
            Outcome::kAllowed);
  Verdict forbidden = a.Check(Bearer(writer), Scope::kUsersWrite);
  EXPECT_EQ(forbidden.outcome, Outcome::kForbidden);
  EXPECT_EQ(forbidden.key_name, "writer");
  for (std::optional<absl::string_view> header :
       std::vector<std::optional<absl::string_view>>{
           std::nullopt, "", "Bearer", "Bearer ", writer, "Basic " + writer,
           Bearer(writer + "x"), Bearer(revoked), "Bearer hk_unknown"}) {
    SCOPED_TRACE(header.value_or("(none)"));
    Verdict v = a.Check(header, Scope::kPaymentsWrite);
    EXPECT_EQ(v.outcome, Outcome::kUnauthenticated);
    EXPECT_EQ(v.key_name, "");
  }
}

TEST_P(AuthenticatorTest, EachKeyHasItsOwnBucket) {
  const std::string a_key = Create("a", "payments:write");
  const std::string b_key = Create("b", "payments:write");
  AuthenticatorOptions options;
  options.rate_limit_per_second = 1;
  options.rate_limit_burst = 2;
  auto authenticator = Authenticator::Start(*db_, options);
  ASSERT_TRUE(authenticator.ok());
  Authenticator& a = **authenticator;
  EXPECT_EQ(a.Check(Bearer(a_key), Scope::kPaymentsWrite).outcome,
            Outcome::kAllowed);
  EXPECT_EQ(a.Check(Bearer(a_key), Scope::kPaymentsWrite).outcome,
            Outcome::kAllowed);
  Verdict limited = a.Check(Bearer(a_key), Scope::kPaymentsWrite);
  EXPECT_EQ(limited.outcome, Outcome::kRateLimited);
  EXPECT_GT(limited.retry_after, absl::ZeroDuration());
  EXPECT_LE(limited.retry_after, absl::Seconds(1));
  // Another key is not held back; a refresh keeps the buckets.
  EXPECT_EQ(a.Check(Bearer(b_key), Scope::kPaymentsWrite).outcome,
            Outcome::kAllowed);
  ASSERT_TRUE(a.Refresh().ok());
  EXPECT_EQ(a.Check(Bearer(a_key), Scope::kPaymentsWrite).outcome,
            Outcome::kRateLimited);
}

// Two gateways share the database: a key revoked through one (or by
// heraldctl) is refused by the other within 5 seconds; a key created after
// it started is accepted as soon.
TEST_P(AuthenticatorTest, ASecondInstanceSeesRevocationsWithinFiveSeconds) {
  const std::string secret = Create("shared", "payments:write");
  auto other_db = db::Database::Open(DatabaseUrl());
  ASSERT_TRUE(other_db.ok());
  auto other = Authenticator::Start(**other_db, {});  // default refresh
  ASSERT_TRUE(other.ok());
  ASSERT_EQ((*other)->Check(Bearer(secret), Scope::kPaymentsWrite).outcome,
            Outcome::kAllowed);
  const std::string late = Create("late", "payments:write");
  ASSERT_TRUE(RevokeApiKey(*db_, "shared").ok());
  const absl::Time revoked = absl::Now();
  EXPECT_TRUE(WaitFor(
      [&] {
        return (*other)->Check(Bearer(secret), Scope::kPaymentsWrite).outcome ==
               Outcome::kUnauthenticated;
      },
      absl::Seconds(5)));
  EXPECT_LT(absl::Now() - revoked, absl::Seconds(5));
  EXPECT_EQ((*other)->Check(Bearer(late), Scope::kPaymentsWrite).outcome,
            Outcome::kAllowed);
}

TEST_P(AuthenticatorTest, LastUseIsRecordedOffTheRequestPath) {
  const std::string secret = Create("used", "payments:read");
  AuthenticatorOptions options;
  options.refresh_every = absl::Hours(1);  // refreshed by hand below
  options.last_used_every = absl::ZeroDuration();
  auto authenticator = Authenticator::Start(*db_, options);
  ASSERT_TRUE(authenticator.ok());
  ASSERT_FALSE(ListApiKeys(*db_).value()[0].last_used_at.has_value());
  const absl::Time before = absl::Now() - absl::Seconds(1);
  ASSERT_EQ(
      (*authenticator)->Check(Bearer(secret), Scope::kPaymentsRead).outcome,
      Outcome::kAllowed);
  // Not written by the request itself.
  ASSERT_FALSE(ListApiKeys(*db_).value()[0].last_used_at.has_value());
  ASSERT_TRUE((*authenticator)->Refresh().ok());
  auto used = ListApiKeys(*db_).value()[0].last_used_at;
  ASSERT_TRUE(used.has_value());
  EXPECT_GE(*used, before);
}

INSTANTIATE_TEST_SUITE_P(Backends, AuthenticatorTest,
                         ::testing::ValuesIn(db::testing::AllBackends()),
                         db::testing::BackendParamName);

}  // namespace
}  // namespace auth
}  // namespace gateway
}  // namespace herald
