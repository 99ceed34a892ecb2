// `heraldctl keys` as a process against a gateway database (a SQLite file;
// a throwaway PostgreSQL server): the secret is the last line of create's
// standard output and appears nowhere else, list shows no secret, revoke
// marks the key.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "database/database.h"
#include "database/testing/backends.h"

namespace herald {
namespace {

struct Outcome {
  int exit_code = -1;
  std::string out;  // standard output (standard error goes to the log)
};

Outcome Heraldctl(const std::string& args) {
  const std::string binary =
      absl::StrCat(getenv("TEST_SRCDIR"), "/herald/tools/heraldctl/heraldctl");
  Outcome run;
  FILE* pipe = popen(absl::StrCat(binary, " ", args).c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    run.out.append(buffer, n);
  }
  int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::string LastLine(const std::string& text) {
  std::vector<std::string> lines =
      absl::StrSplit(text, '\n', absl::SkipEmpty());
  return lines.empty() ? "" : lines.back();
}

class KeysTest : public db::testing::ForEachBackend {};

TEST_P(KeysTest, CreateListRevoke) {
  const std::string db = absl::StrCat("--db='", DatabaseUrl(), "'");
  Outcome created = Heraldctl(
      absl::StrCat("keys create ", db,
                   " --name=billing --scopes=payments:write,users:write"));
  ASSERT_EQ(created.exit_code, 0) << created.out;
  const std::string secret = LastLine(created.out);
  EXPECT_TRUE(absl::StartsWith(secret, "hk_")) << created.out;
  EXPECT_GE(secret.size(), 3u + 22u);  // >= 128 bits in base64url

  // The database holds no trace of the secret.
  auto database = db::Database::Open(DatabaseUrl());
  ASSERT_TRUE(database.ok());
  auto rows = (*database)->ReadValue<std::vector<db::Row>>(
      [](db::Transaction& tx) { return tx.Query("SELECT * FROM api_keys"); });
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  for (size_t i = 0; i < (*rows)[0].size(); ++i) {
    EXPECT_FALSE(absl::StrContains((*rows)[0].String(i), secret.substr(3)));
  }

  Outcome listed = Heraldctl(absl::StrCat("keys list ", db));
  ASSERT_EQ(listed.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(listed.out, "billing"));
  EXPECT_TRUE(absl::StrContains(listed.out, "payments:write,users:write"));
  EXPECT_FALSE(absl::StrContains(listed.out, secret.substr(3)));

  EXPECT_EQ(Heraldctl(absl::StrCat("keys create ", db,
                                   " --name=billing --scopes=users:write"))
                .exit_code,
            1);  // the name is taken
  EXPECT_EQ(Heraldctl(absl::StrCat("keys create ", db,
                                   " --name=x --scopes=payments:refund"))
                .exit_code,
            2);  // no such scope
  EXPECT_EQ(Heraldctl(absl::StrCat("keys revoke nobody ", db)).exit_code, 1);

  Outcome revoked = Heraldctl(absl::StrCat("keys revoke billing ", db));
  ASSERT_EQ(revoked.exit_code, 0);
  auto revoked_at =
      (*database)->ReadValue<std::vector<db::Row>>([](db::Transaction& tx) {
        return tx.Query(
            "SELECT revoked_at FROM api_keys WHERE name = 'billing'");
      });
  ASSERT_TRUE(revoked_at.ok());
  EXPECT_FALSE((*revoked_at)[0].IsNull(0));
  EXPECT_FALSE(absl::StrContains(Heraldctl(absl::StrCat("keys list ", db)).out,
                                 secret.substr(3)));
}

INSTANTIATE_TEST_SUITE_P(Backends, KeysTest,
                         ::testing::ValuesIn(db::testing::AllBackends()),
                         db::testing::BackendParamName);

}  // namespace
}  // namespace herald
