#include "messaging/pipeline/reader.h"

#include <gtest/gtest.h>

#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "messaging/mock_cluster.h"
#include "messaging/producer.h"
#include "messaging/testing/test_support.h"

namespace herald {
namespace pipeline {
namespace {

using testing::TestConfig;

class RecordingListener : public RebalanceListener {
 public:
  void OnAssigned(const std::vector<TopicPartition>& partitions) override {
    absl::MutexLock lock(&mu_);
    for (const auto& p : partitions) assigned_.push_back(p);
  }
  void OnRevoked(const std::vector<TopicPartition>& partitions, bool) override {
    absl::MutexLock lock(&mu_);
    for (const auto& p : partitions) revoked_.push_back(p);
  }
  size_t assigned() {
    absl::MutexLock lock(&mu_);
    return assigned_.size();
  }
  size_t revoked() {
    absl::MutexLock lock(&mu_);
    return revoked_.size();
  }

 private:
  absl::Mutex mu_;
  std::vector<TopicPartition> assigned_, revoked_;
};

class ReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = MockCluster::Start(1);
    ASSERT_TRUE(cluster.ok());
    cluster_ = *std::move(cluster);
    ASSERT_TRUE(cluster_->CreateTopic("t", 1).ok());
    auto producer = Producer::Create(TestConfig(*cluster_));
    ASSERT_TRUE(producer.ok());
    producer_ = *std::move(producer);
  }

  void Produce(int n) {
    for (int i = 0; i < n; ++i) {
      OutgoingMessage m;
      m.topic = "t";
      m.key = "k";
      m.value = std::to_string(i);
      ASSERT_TRUE(producer_->Publish(m).get().ok());
    }
  }

  // Polls until a record comes (or `timeout`).
  RecordPtr Next(Reader& reader, absl::Duration timeout = absl::Seconds(20)) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      RecordPtr r = reader.Poll(absl::Milliseconds(50));
      if (r != nullptr) return r;
    }
    return nullptr;
  }

  std::unique_ptr<MockCluster> cluster_;
  std::unique_ptr<Producer> producer_;
};

TEST_F(ReaderTest, WakeEndsAWaitingPollAtOnce) {
  RecordingListener listener;  // outlives the reader
  auto reader = Reader::Create(TestConfig(*cluster_, "wake"));
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->Subscribe({"t"}, &listener).ok());
  std::thread waker([&] {
    absl::SleepFor(absl::Milliseconds(200));
    (*reader)->Wake();
  });
  absl::Time start = absl::Now();
  RecordPtr none = (*reader)->Poll(absl::Seconds(30));
  absl::Duration waited = absl::Now() - start;
  waker.join();
  EXPECT_EQ(none, nullptr);
  // Not the 30 s asked for, nor the ~3 s the mock cluster takes to assign
  // the first partition (which would end the wait too).
  EXPECT_GE(waited, absl::Milliseconds(150));
  EXPECT_LT(waited, absl::Seconds(2));
}

TEST_F(ReaderTest, ResumeFetchesAgainRightAfterTheLastPolledRecord) {
  Produce(3);
  RecordingListener listener;  // outlives the reader
  auto reader = Reader::Create(TestConfig(*cluster_, "pause"));
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->Subscribe({"t"}, &listener).ok());
  EXPECT_FALSE((*reader)->InGroup());
  RecordPtr first = Next(**reader);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->offset, 0);
  EXPECT_EQ(listener.assigned(), 1u);
  EXPECT_TRUE((*reader)->InGroup());
  // Paused: what librdkafka prefetched (offsets 1 and 2) is dropped.
  (*reader)->Pause({"t", 0});
  Produce(1);  // offset 3: the sentinel, fetched only after the resume
  (*reader)->Resume({"t", 0});
  std::vector<int64_t> offsets;
  while (offsets.size() < 3) {
    RecordPtr r = Next(**reader);
    ASSERT_NE(r, nullptr);
    offsets.push_back(r->offset);
  }
  EXPECT_EQ(offsets, (std::vector<int64_t>{1, 2, 3}));
  // (That fetching starts again at once, not at librdkafka's next look a
  // second later, is measured by tools/bench/ordering_bench.)
}

TEST_F(ReaderTest, StoredOffsetsAreCommittedAndRevocationIsReported) {
  Produce(2);
  {
    RecordingListener listener;  // outlives the reader
    auto reader = Reader::Create(TestConfig(*cluster_, "store"));
    ASSERT_TRUE(reader.ok());
    ASSERT_TRUE((*reader)->Subscribe({"t"}, &listener).ok());
    RecordPtr first = Next(**reader);
    ASSERT_NE(first, nullptr);
    rd_kafka_topic_t* topic = (*reader)->TopicHandle("t");
    (*reader)->StoreOffset(topic, 0, first->offset + 1);
    EXPECT_TRUE((*reader)->CommitNow().ok());
    (*reader)->ReleaseTopic(topic);
    first.reset();
    ASSERT_TRUE((*reader)->Close().ok());
    EXPECT_EQ(listener.revoked(), 1u);
  }
  RecordingListener listener;  // outlives the reader
  auto reader = Reader::Create(TestConfig(*cluster_, "store"));
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->Subscribe({"t"}, &listener).ok());
  RecordPtr next = Next(**reader);
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->offset, 1);
  EXPECT_EQ((*reader)->HighWatermark({"t", 0}), 2);
}

}  // namespace
}  // namespace pipeline
}  // namespace herald
