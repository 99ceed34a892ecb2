// heraldctl outbox status (SQLite and PostgreSQL) and topics ensure / groups
// lag against the mock cluster.
#include "tools/heraldctl/admin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <sstream>

#include "contracts/v1/payments.pb.h"
#include "contracts/v1/users.pb.h"
#include "database/database.h"
#include "database/migrations.h"
#include "database/testing/backends.h"
#include "messaging/contract_topics.h"
#include "messaging/mock_cluster.h"
#include "messaging/outbox/outbox_store.h"
#include "messaging/producer.h"
#include "messaging/testing/test_support.h"

namespace herald {
namespace ctl {
namespace {

using ::testing::HasSubstr;

class OutboxStatusTest : public db::testing::ForEachBackend {};

TEST_P(OutboxStatusTest, PendingRowsAndOldestAgePerTopic) {
  auto db = db::Database::Open(DatabaseUrl());
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(db::Migrate(**db, "outbox", outbox::OutboxMigrations()).ok());
  std::ostringstream empty;
  ASSERT_TRUE(OutboxStatus(DatabaseUrl(), empty).ok());
  EXPECT_THAT(empty.str(), HasSubstr("total                             0  -"));

  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    contracts::v1::PaymentCreated payment;
    payment.set_payment_id(absl::StrCat("pay_", i));
    contracts::v1::UserRegistered user;
    user.set_user_id(absl::StrCat("u_", i));
    for (const google::protobuf::Message* event :
         {static_cast<const google::protobuf::Message*>(&payment),
          static_cast<const google::protobuf::Message*>(&user)}) {
      auto row = outbox::EncodeOutboxRow(*event, "gateway");
      ASSERT_TRUE(row.ok());
      int64_t id = 0;
      ASSERT_TRUE((*db)
                      ->Transact([&](db::Transaction& tx) {
                        return outbox::AppendToOutbox(tx, *row, &id);
                      })
                      .ok());
      if (event == &user) ids.push_back(id);
    }
  }
  // Two of the user rows are published.
  ASSERT_TRUE(outbox::MarkPublished(**db, {ids[0], ids[1]}).ok());
  std::ostringstream out;
  ASSERT_TRUE(OutboxStatus(DatabaseUrl(), out).ok());
  EXPECT_THAT(out.str(), HasSubstr("payment.created                   3  "));
  EXPECT_THAT(out.str(), HasSubstr("user.registered                   1  "));
  EXPECT_THAT(out.str(), HasSubstr("total                             4  "));
}

TEST_P(OutboxStatusTest, ADatabaseWithoutAnOutboxIsAnError) {
  auto db = db::Database::Open(DatabaseUrl());  // there, but empty
  ASSERT_TRUE(db.ok()) << db.status();
  std::ostringstream out;
  absl::Status status = OutboxStatus(DatabaseUrl(), out);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("is this a gateway's database?"));
}

TEST(OutboxStatusFileTest, AMissingSqliteFileIsNotCreated) {
  const std::string path =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/no-such.db");
  std::ostringstream out;
  absl::Status status = OutboxStatus("sqlite:" + path, out);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_NE(access(path.c_str(), F_OK), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, OutboxStatusTest,
                         ::testing::ValuesIn(db::testing::AllBackends()),
                         db::testing::BackendParamName);

TEST(TopicsEnsureTest, ReportsEveryContractTopicAndItsDeadLetterTopic) {
  auto cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  for (const std::string& topic : ContractTopics()) {
    ASSERT_TRUE((*cluster)->CreateTopic(topic, 2).ok());
    ASSERT_TRUE((*cluster)->CreateTopic(topic + ".dlq", 2).ok());
  }
  std::ostringstream out;
  absl::Status ensured =
      EnsureContractTopics(testing::TestConfig(**cluster), {}, out);
  ASSERT_TRUE(ensured.ok()) << ensured;
  EXPECT_THAT(out.str(), HasSubstr("exists  payment.created\n"));
  EXPECT_THAT(out.str(), HasSubstr("exists  payment.created.dlq\n"));
  EXPECT_THAT(out.str(), HasSubstr("exists  realtime.messages.dlq\n"));
  const std::string text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'),
            2 * static_cast<int>(ContractTopics().size()));
}

TEST(GroupsLagTest, PrintsCommittedEndAndLag) {
  auto cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("user.registered", 1).ok());
  Config config = testing::TestConfig(**cluster, "lag-printer");
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  contracts::v1::UserRegistered user;
  user.set_user_id("u1");
  ASSERT_TRUE((*producer)->Send(user).get().ok());
  {
    auto consumer = Consumer::Create(config);
    ASSERT_TRUE(consumer.ok());
    std::atomic<bool> seen{false};
    ASSERT_TRUE(
        (*consumer)
            ->Subscribe<contracts::v1::UserRegistered>(
                [&](const contracts::v1::UserRegistered&, const Metadata&) {
                  seen = true;
                  return absl::OkStatus();
                })
            .ok());
    testing::RunningConsumer running(*std::move(consumer));
    ASSERT_TRUE(testing::WaitFor([&] { return seen.load(); }));
    ASSERT_TRUE(running.Stop().ok());
  }
  ASSERT_TRUE((*producer)->Send(user).get().ok());
  ASSERT_TRUE((*producer)->Send(user).get().ok());
  std::ostringstream out;
  absl::Status printed = PrintGroupLag(config, "lag-printer", out);
  ASSERT_TRUE(printed.ok()) << printed;
  EXPECT_THAT(out.str(),
              HasSubstr("lag-printer                  user.registered        "
                        "          0            1            3          2\n"));
}

}  // namespace
}  // namespace ctl
}  // namespace herald
