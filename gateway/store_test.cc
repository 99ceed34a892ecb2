// The store's domain outcomes, on SQLite and without HTTP: each write
// reports what became of it, its answer comes from the caller's
// AnswerRenderer, and that answer is what an Idempotency-Key replays.
#include "gateway/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <future>

#include "absl/strings/str_cat.h"
#include "database/migrations.h"
#include "messaging/outbox/outbox_store.h"

namespace herald {
namespace gateway {
namespace {

using ::testing::HasSubstr;

// Answers that say what they were made from.
class DescribingAnswers : public AnswerRenderer {
 public:
  RecordedAnswer PaymentCreated(const Payment& p) const override {
    return {1, absl::StrCat("created ", p.payment_id, " ", p.status)};
  }
  RecordedAnswer PaymentStatusChanged(const Payment& p) const override {
    return {2, absl::StrCat("changed ", p.payment_id, " ", p.status, " ",
                            p.reason, " ", p.amount, " ", p.user_id)};
  }
  RecordedAnswer UserRegistered(const User& u) const override {
    return {3, absl::StrCat("registered ", u.user_id, " ", u.email)};
  }
  RecordedAnswer EmailRequested(absl::string_view event_id) const override {
    return {4, absl::StrCat("email ", event_id)};
  }
  RecordedAnswer RealtimeMessagePublished(
      absl::string_view event_id, absl::string_view channel) const override {
    return {5, absl::StrCat("realtime ", event_id, " ", channel)};
  }
};

// Runs an asynchronous store operation and waits for its result.
template <typename Result, typename Operation>
absl::StatusOr<Result> Await(Operation operation) {
  std::promise<absl::StatusOr<Result>> promise;
  std::future<absl::StatusOr<Result>> future = promise.get_future();
  operation([&promise](absl::StatusOr<Result> result) {
    promise.set_value(std::move(result));
  });
  return future.get();
}

// The committed answer of `result`, or a failure.
template <typename Result>
RecordedAnswer CommittedAnswer(const absl::StatusOr<Result>& result) {
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return {};
  const Committed* committed = std::get_if<Committed>(&*result);
  EXPECT_NE(committed, nullptr)
      << "not committed: alternative " << result->index();
  return committed != nullptr ? committed->answer : RecordedAnswer{};
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = db::Database::Open(absl::StrCat("sqlite:", getenv("TEST_TMPDIR"),
                                              "/store_", counter_++, ".db"));
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(db::Migrate(*db_, "outbox", outbox::OutboxMigrations()).ok());
    ASSERT_TRUE(db::Migrate(*db_, "gateway", Store::Migrations()).ok());
    // No relay: committed events stay pending in the outbox, to be counted.
    store_ = std::make_unique<Store>(*db_, "store-test", answers_, nullptr);
  }

  absl::StatusOr<CreatePaymentResult> Create(
      std::optional<IdempotencyKey> key = std::nullopt, int64_t amount = 500) {
    return Await<CreatePaymentResult>([&](auto done) {
      store_->CreatePayment({"user_1", amount, "EUR"}, key, std::move(done));
    });
  }

  absl::StatusOr<UpdatePaymentStatusResult> Update(const std::string& id,
                                                   const std::string& status) {
    return Await<UpdatePaymentStatusResult>([&](auto done) {
      store_->UpdatePaymentStatus(id, {status, "because"}, std::nullopt,
                                  std::move(done));
    });
  }

  absl::StatusOr<RegisterUserResult> Register(const std::string& email) {
    return Await<RegisterUserResult>([&](auto done) {
      store_->RegisterUser({email, "Ada"}, std::nullopt, std::move(done));
    });
  }

  int64_t PendingEvents() {
    absl::StatusOr<outbox::Backlog> backlog = outbox::ReadBacklog(*db_);
    EXPECT_TRUE(backlog.ok()) << backlog.status();
    return backlog.ok() ? backlog->pending : -1;
  }

  // The id in a DescribingAnswers answer "<verb> <id> ...".
  static std::string IdIn(const RecordedAnswer& answer) {
    const size_t start = answer.body.find(' ') + 1;
    return answer.body.substr(start, answer.body.find(' ', start) - start);
  }

  static int counter_;
  DescribingAnswers answers_;
  std::unique_ptr<db::Database> db_;
  std::unique_ptr<Store> store_;
};

int StoreTest::counter_ = 0;

TEST_F(StoreTest, CreatedPaymentsAreReadBackAndMissingOnesAreNotFound) {
  RecordedAnswer created = CommittedAnswer(Create());
  EXPECT_EQ(created.status, 1);
  EXPECT_THAT(created.body, HasSubstr(" pending"));
  const std::string id = IdIn(created);
  ASSERT_THAT(id, ::testing::StartsWith("pay_"));

  absl::StatusOr<GetPaymentResult> read = store_->GetPayment(id);
  ASSERT_TRUE(read.ok()) << read.status();
  const Payment* payment = std::get_if<Payment>(&*read);
  ASSERT_NE(payment, nullptr);
  EXPECT_EQ(payment->user_id, "user_1");
  EXPECT_EQ(payment->amount, 500);
  EXPECT_EQ(payment->currency, "EUR");
  EXPECT_EQ(payment->status, "pending");
  EXPECT_EQ(payment->created_at, payment->updated_at);
  EXPECT_EQ(PendingEvents(), 1);

  read = store_->GetPayment("pay_nope");
  ASSERT_TRUE(read.ok()) << read.status();
  const PaymentNotFound* missing = std::get_if<PaymentNotFound>(&*read);
  ASSERT_NE(missing, nullptr);
  EXPECT_EQ(missing->payment_id, "pay_nope");
}

TEST_F(StoreTest, RefusedTransitionsSayWhyAndWriteNothing) {
  const std::string id = IdIn(CommittedAnswer(Create()));
  RecordedAnswer changed = CommittedAnswer(Update(id, "failed"));
  EXPECT_EQ(changed.status, 2);
  EXPECT_EQ(changed.body,
            absl::StrCat("changed ", id, " failed because 500 user_1"));
  EXPECT_EQ(PendingEvents(), 2);

  absl::StatusOr<UpdatePaymentStatusResult> again = Update(id, "succeeded");
  ASSERT_TRUE(again.ok()) << again.status();
  const auto* refused = std::get_if<TransitionNotAllowed>(&*again);
  ASSERT_NE(refused, nullptr) << "alternative " << again->index();
  EXPECT_EQ(refused->payment_id, id);
  EXPECT_EQ(refused->from, "failed");
  EXPECT_EQ(refused->to, "succeeded");

  absl::StatusOr<UpdatePaymentStatusResult> missing =
      Update("pay_nope", "failed");
  ASSERT_TRUE(missing.ok()) << missing.status();
  ASSERT_NE(std::get_if<PaymentNotFound>(&*missing), nullptr);

  // Neither refusal wrote anything.
  EXPECT_EQ(PendingEvents(), 2);
  absl::StatusOr<GetPaymentResult> read = store_->GetPayment(id);
  ASSERT_TRUE(read.ok());
  ASSERT_NE(std::get_if<Payment>(&*read), nullptr);
  EXPECT_EQ(std::get<Payment>(*read).status, "failed");
}

TEST_F(StoreTest, AnEmailIsRegisteredOnce) {
  CommittedAnswer(Register("ada@example.com"));
  absl::StatusOr<RegisterUserResult> again = Register("ada@example.com");
  ASSERT_TRUE(again.ok()) << again.status();
  const EmailTaken* taken = std::get_if<EmailTaken>(&*again);
  ASSERT_NE(taken, nullptr) << "alternative " << again->index();
  EXPECT_EQ(taken->email, "ada@example.com");
  EXPECT_EQ(PendingEvents(), 1);
}

TEST_F(StoreTest, AKeyReplaysItsFirstAnswerAndRefusesAnotherRequest) {
  const IdempotencyKey key{"k-1", "payments", "fingerprint-a"};
  RecordedAnswer first = CommittedAnswer(Create(key));

  absl::StatusOr<CreatePaymentResult> replay = Create(key);
  ASSERT_TRUE(replay.ok()) << replay.status();
  const Replayed* replayed = std::get_if<Replayed>(&*replay);
  ASSERT_NE(replayed, nullptr) << "alternative " << replay->index();
  EXPECT_EQ(replayed->answer.status, first.status);
  EXPECT_EQ(replayed->answer.body, first.body);

  IdempotencyKey other = key;
  other.fingerprint = "fingerprint-b";
  absl::StatusOr<CreatePaymentResult> reused = Create(other, 501);
  ASSERT_TRUE(reused.ok()) << reused.status();
  EXPECT_NE(std::get_if<KeyReused>(&*reused), nullptr)
      << "alternative " << reused->index();

  // One event: the replay and the refused request wrote nothing.
  EXPECT_EQ(PendingEvents(), 1);
}

TEST_F(StoreTest, AnEmailRequestIsAnsweredWithItsEventId) {
  absl::StatusOr<RequestEmailResult> result =
      Await<RequestEmailResult>([&](auto done) {
        SendEmail email;
        email.to = "ada@example.com";
        email.subject = "Hello";
        email.body = "Hi";
        store_->RequestEmail(std::move(email), std::nullopt, std::move(done));
      });
  RecordedAnswer answer = CommittedAnswer(result);
  EXPECT_EQ(answer.status, 4);
  EXPECT_EQ(answer.body.size(), std::string("email ").size() + 36)
      << answer.body;  // a UUID
  EXPECT_EQ(PendingEvents(), 1);
}

}  // namespace
}  // namespace gateway
}  // namespace herald
