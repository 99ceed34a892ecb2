#include "messaging/pipeline/assignment.h"

#include <gtest/gtest.h>

#include "messaging/mock_cluster.h"
#include "messaging/testing/test_support.h"

namespace herald {
namespace pipeline {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1000);

class AssignmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = MockCluster::Start(1);
    ASSERT_TRUE(cluster.ok());
    cluster_ = *std::move(cluster);
    auto reader = Reader::Create(testing::TestConfig(*cluster_, "assign"));
    ASSERT_TRUE(reader.ok());
    reader_ = *std::move(reader);
    dispatcher_ = std::make_unique<Dispatcher>(Ordering::kPartition,
                                               std::vector<RouteShape>(2));
    assignment_ = std::make_unique<Assignment>(*reader_, *dispatcher_, 10);
  }

  std::unique_ptr<MockCluster> cluster_;
  std::unique_ptr<Reader> reader_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<Assignment> assignment_;
};

TEST_F(AssignmentTest, FindsPartitionsByNameRouteAndRecord) {
  Partition* p = assignment_->Add({"a", 3}, /*route=*/1);
  EXPECT_EQ(assignment_->Find(TopicPartition{"a", 3}), p);
  EXPECT_EQ(assignment_->Find(1, 3), p);
  EXPECT_EQ(assignment_->Find(0, 3), nullptr);
  EXPECT_EQ(assignment_->Find(TopicPartition{"a", 4}), nullptr);
  ASSERT_TRUE(assignment_->Admit(p, 7));
  Held* held = dispatcher_->Add(p->dispatcher_id, 7, "", nullptr, kT0);
  EXPECT_EQ(assignment_->Of(held), p);
}

TEST_F(AssignmentTest, ARecordFetchedTwiceIsRefused) {
  Partition* p = assignment_->Add({"a", 0}, 0);
  EXPECT_TRUE(assignment_->Admit(p, 5));
  EXPECT_TRUE(assignment_->Admit(p, 6));
  EXPECT_FALSE(assignment_->Admit(p, 5));  // librdkafka fetched it again
  EXPECT_FALSE(assignment_->Admit(p, 6));
  EXPECT_EQ(p->tracker.held(), 2u);
  EXPECT_EQ(p->first_fetched.load(), 5);
}

TEST_F(AssignmentTest, SettledOffsetsAreStoredAsTheContiguousPrefix) {
  Partition* p = assignment_->Add({"a", 0}, 0);
  for (int64_t o = 0; o < 3; ++o) {
    ASSERT_TRUE(assignment_->Admit(p, o));
    assignment_->Dispatched(p);
  }
  assignment_->Settled(p, 1);
  assignment_->StoreProgress();
  EXPECT_EQ(p->committed.load(), -1);  // 0 is not settled
  assignment_->Settled(p, 0);
  assignment_->StoreProgress();
  EXPECT_EQ(p->committed.load(), 2);
  EXPECT_EQ(p->running, 1);
}

TEST_F(AssignmentTest, ARevokedPartitionLivesUntilItsLastRecordComesBack) {
  Partition* p = assignment_->Add({"a", 0}, 0);
  ASSERT_TRUE(assignment_->Admit(p, 0));
  ASSERT_TRUE(assignment_->Admit(p, 1));
  Held* out = dispatcher_->Add(p->dispatcher_id, 0, "", nullptr, kT0);
  dispatcher_->Add(p->dispatcher_id, 1, "", nullptr, kT0);
  std::vector<Held*> unit;
  ASSERT_TRUE(dispatcher_->Next(kT0, &unit));
  assignment_->Dispatched(p);
  int dropped = 0;
  assignment_->Revoke(p, [&](Held*) { ++dropped; });
  EXPECT_EQ(dropped, 1);  // offset 1 was not out
  EXPECT_EQ(assignment_->Find(TopicPartition{"a", 0}), nullptr);
  size_t visited = 0;
  assignment_->ForEachForLag([&](const Partition&) { ++visited; });
  EXPECT_EQ(visited, 1u);  // still there: offset 0 is out
  EXPECT_TRUE(p->revoked);
  dispatcher_->Done(out, kT0);
  assignment_->Forget(p);  // frees it
  visited = 0;
  assignment_->ForEachForLag([&](const Partition&) { ++visited; });
  EXPECT_EQ(visited, 0u);
}

}  // namespace
}  // namespace pipeline
}  // namespace herald
