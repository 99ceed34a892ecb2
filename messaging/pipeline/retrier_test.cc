#include "messaging/pipeline/retrier.h"

#include <gtest/gtest.h>

#include "base/dependency_outage.h"
#include "messaging/retry.h"

namespace herald {
namespace pipeline {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1000);

RetryPolicy Policy() {
  RetryPolicy policy;
  policy.max_attempts = 3;
  policy.initial_backoff = absl::Milliseconds(100);
  policy.max_backoff = absl::Seconds(1);
  policy.jitter = 0;
  return policy;
}

struct Unit {
  explicit Unit(int n) : records(n) {
    for (Held& h : records) pointers.push_back(&h);
  }
  std::vector<Held> records;
  std::vector<Held*> pointers;
};

TEST(RetrierTest, OkSettlesEveryRecord) {
  Retrier retrier(Policy(), true);
  Unit unit(3);
  std::vector<Decision> out;
  retrier.Decide(absl::OkStatus(), unit.pointers, kNow, &out);
  ASSERT_EQ(out.size(), 3u);
  for (const Decision& d : out) EXPECT_EQ(d.kind, Decision::kDone);
}

TEST(RetrierTest, ASingleRecordIsRetriedWithGrowingBackoffThenDeadLettered) {
  Retrier retrier(Policy(), true);
  Unit unit(1);
  std::vector<Decision> out;
  retrier.Decide(absl::UnavailableError("smtp"), unit.pointers, kNow, &out);
  EXPECT_EQ(out[0].kind, Decision::kRetry);
  EXPECT_EQ(out[0].not_before, kNow + absl::Milliseconds(100));
  retrier.Decide(absl::UnavailableError("smtp"), unit.pointers, kNow, &out);
  EXPECT_EQ(out[0].not_before, kNow + absl::Milliseconds(200));
  retrier.Decide(absl::UnavailableError("smtp"), unit.pointers, kNow, &out);
  EXPECT_EQ(out[0].kind, Decision::kDeadLetter);
  EXPECT_TRUE(unit.records[0].dead_letter);
  EXPECT_EQ(unit.records[0].attempts, 3);
  EXPECT_EQ(unit.records[0].failure.message(), "smtp");
}

TEST(RetrierTest, PermanentSkipsTheRetries) {
  Retrier retrier(Policy(), true);
  Unit unit(1);
  std::vector<Decision> out;
  retrier.Decide(Permanent(absl::InvalidArgumentError("no such template")),
                 unit.pointers, kNow, &out);
  EXPECT_EQ(out[0].kind, Decision::kDeadLetter);
  EXPECT_EQ(unit.records[0].attempts, 1);
}

TEST(RetrierTest, WithoutDeadLettersAnExhaustedRecordWaitsTheLongestBackoff) {
  Retrier retrier(Policy(), false);
  Unit unit(1);
  std::vector<Decision> out;
  retrier.Decide(Permanent(absl::InternalError("x")), unit.pointers, kNow,
                 &out);
  EXPECT_EQ(out[0].kind, Decision::kRetry);
  EXPECT_EQ(out[0].not_before, kNow + absl::Seconds(1));
  EXPECT_FALSE(unit.records[0].dead_letter);
}

TEST(RetrierTest, FailedAtSettlesTheRecordsBeforeAndRequeuesTheRest) {
  Retrier retrier(Policy(), true);
  Unit unit(4);
  std::vector<Decision> out;
  retrier.Decide(FailedAt(2, absl::InternalError("bad row")), unit.pointers,
                 kNow, &out);
  EXPECT_EQ(out[0].kind, Decision::kDone);
  EXPECT_EQ(out[1].kind, Decision::kDone);
  EXPECT_EQ(out[2].kind, Decision::kRetry);
  EXPECT_EQ(out[2].not_before, kNow + absl::Milliseconds(100));
  EXPECT_EQ(unit.records[2].attempts, 1);
  EXPECT_EQ(unit.records[2].batch_limit, 1);  // retried on its own
  EXPECT_EQ(out[3].kind, Decision::kRetry);
  EXPECT_EQ(out[3].not_before, kNow);
  EXPECT_EQ(unit.records[3].attempts, 0);  // not its fault
}

TEST(RetrierTest, APlainBatchErrorSplitsTheBatchAndCountsNothing) {
  Retrier retrier(Policy(), true);
  Unit unit(5);
  std::vector<Decision> out;
  retrier.Decide(absl::InternalError("one of these"), unit.pointers, kNow,
                 &out);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(out[i].kind, Decision::kRetry);
    EXPECT_EQ(out[i].not_before, kNow);
    EXPECT_EQ(unit.records[i].attempts, 0);
    EXPECT_EQ(unit.records[i].batch_limit, 3);
  }
  // Even Permanent says nothing about which record: split too.
  Unit two(2);
  retrier.Decide(Permanent(absl::InternalError("?")), two.pointers, kNow, &out);
  EXPECT_EQ(out[0].kind, Decision::kRetry);
  EXPECT_EQ(two.records[0].batch_limit, 1);
}

TEST(RetrierTest, AnOutageCountsNothing) {
  Retrier retrier(Policy(), true);
  Unit unit(3);
  std::vector<Decision> out;
  retrier.Decide(DependencyOutage(absl::UnavailableError("db down")),
                 unit.pointers, kNow, &out);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].kind, Decision::kOutage);
    EXPECT_EQ(unit.records[i].attempts, 0);
    EXPECT_EQ(unit.records[i].batch_limit, Held().batch_limit);
  }
  // Past a FailedAt index only.
  retrier.Decide(FailedAt(1, DependencyOutage(absl::UnavailableError("x"))),
                 unit.pointers, kNow, &out);
  EXPECT_EQ(out[0].kind, Decision::kDone);
  EXPECT_EQ(out[1].kind, Decision::kOutage);
  EXPECT_EQ(out[2].kind, Decision::kOutage);
}

TEST(RetrierTest, UndecodableRecordsAreDeadLetteredWithoutAttempts) {
  Retrier retrier(Policy(), true);
  Held held;
  Decision d = retrier.Undecodable(
      &held, absl::InvalidArgumentError("not a PaymentCreated"), kNow);
  EXPECT_EQ(d.kind, Decision::kDeadLetter);
  EXPECT_EQ(held.attempts, 0);
  EXPECT_EQ(held.failure.message(), "not a PaymentCreated");
}

TEST(RetrierTest, FailedAtKeepsCodeMessageAndMarks) {
  absl::Status s = FailedAt(7, Permanent(absl::NotFoundError("gone")));
  EXPECT_EQ(FailedIndex(s), 7u);
  EXPECT_TRUE(IsPermanent(s));
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "gone");
  EXPECT_EQ(FailedIndex(absl::InternalError("x")), std::nullopt);
  EXPECT_TRUE(FailedAt(1, absl::OkStatus()).ok());
}

}  // namespace
}  // namespace pipeline
}  // namespace herald
