// Wide sums on real SQLite and PostgreSQL databases: sums past 2^63 stay
// exact integers, negative amounts carry correctly, and amounts outside the
// contract are refused as Permanent.
#include "workers/runtime/wide_sum.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "contracts/v1/limits.h"
#include "database/database.h"
#include "database/testing/backends.h"
#include "messaging/retry.h"

namespace herald {
namespace workers {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMax = contracts::v1::kMaxAmount;

TEST(WideSumTest, TextIsExactPast64Bits) {
  EXPECT_EQ(WideSumText(0, 0), "0");
  EXPECT_EQ(WideSumText(42, 0), "42");
  EXPECT_EQ(WideSumText(0, 10), "10000000000000000000");
  EXPECT_EQ(WideSumText(5, 9223372036854775807),
            "9223372036854775807000000000000000005");
  EXPECT_EQ(WideSumText(-5, 0), "-5");
  EXPECT_EQ(WideSumText(-1, -1), "-1000000000000000001");
}

TEST(WideSumTest, AmountsOutsideTheContractArePermanent) {
  EXPECT_TRUE(CheckAmount("amount", kMax).ok());
  EXPECT_TRUE(CheckAmount("amount", -kMax).ok());
  EXPECT_TRUE(CheckAmount("amount", 0).ok());
  for (int64_t bad : {kMax + 1, -kMax - 1, std::numeric_limits<int64_t>::max(),
                      std::numeric_limits<int64_t>::min()}) {
    absl::Status s = CheckAmount("amount", bad);
    EXPECT_TRUE(IsPermanent(s)) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("out of range"));
    EXPECT_THAT(std::string(s.message()), HasSubstr(absl::StrCat(bad)));
  }
}

class WideSumDatabaseTest : public db::testing::ForEachBackend {
 protected:
  void SetUp() override {
    ForEachBackend::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto db = db::Database::Open(DatabaseUrl());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(db_->Transact([](db::Transaction& tx) {
                     return tx
                         .Execute(
                             "CREATE TABLE sums (k TEXT PRIMARY KEY,"
                             " amount BIGINT NOT NULL,"
                             " amount_e18 BIGINT NOT NULL DEFAULT 0)")
                         .status();
                   })
                    .ok());
  }

  // Adds each of `amounts` to key "k", one upsert each, in one transaction.
  void Add(const std::vector<int64_t>& amounts) {
    const std::string sql = absl::StrCat(
        "INSERT INTO sums(k, amount) VALUES ('k', ?)",
        " ON CONFLICT(k) DO UPDATE SET ", WideSumSet("sums", "amount"));
    absl::Status s = db_->Transact([&](db::Transaction& tx) -> absl::Status {
      for (int64_t amount : amounts) {
        absl::Status added = tx.Execute(sql, {amount}).status();
        if (!added.ok()) return added;
      }
      return absl::OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s;
  }

  std::string Sum() {
    std::string text;
    absl::Status s = db_->Transact([&](db::Transaction& tx) -> absl::Status {
      auto rows = tx.Query("SELECT amount, amount_e18 FROM sums WHERE k = 'k'");
      if (!rows.ok()) return rows.status();
      if (rows->size() != 1) return absl::NotFoundError("no row");
      // Integers, not REAL: SQLite would turn an overflowing sum into one.
      text = WideSumText((*rows)[0].Int(0), (*rows)[0].Int(1));
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return text;
  }

  std::unique_ptr<db::Database> db_;
};

// 10,000 payments of the largest amount: 10^19, past the 9.22 * 10^18 a
// single BIGINT holds.
TEST_P(WideSumDatabaseTest, TenThousandLargestAmountsSumExactly) {
  Add(std::vector<int64_t>(10000, kMax));
  EXPECT_EQ(Sum(), "10000000000000000000");
  Add({1});
  EXPECT_EQ(Sum(), "10000000000000000001");
}

TEST_P(WideSumDatabaseTest, NegativeAmountsCarryBothWays) {
  Add(std::vector<int64_t>(2000, kMax));  // 2 * 10^18
  Add({-kMax, -1});
  EXPECT_EQ(Sum(), "1998999999999999999");
  Add(std::vector<int64_t>(4000, -kMax));
  EXPECT_EQ(Sum(), "-2001000000000000001");
}

INSTANTIATE_TEST_SUITE_P(Backends, WideSumDatabaseTest,
                         ::testing::ValuesIn(db::testing::AllBackends()),
                         db::testing::BackendParamName);

}  // namespace
}  // namespace workers
}  // namespace herald
