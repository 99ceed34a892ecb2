// TailReader against the mock cluster: every partition from given offsets,
// two readers each get everything, watermarks move with writes and with a
// log truncated by the mock's size limit.
#include "messaging/tail_reader.h"

#include <gtest/gtest.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "contracts/v1/realtime.pb.h"
#include "messaging/mock_cluster.h"
#include "messaging/producer.h"
#include "messaging/testing/test_support.h"

namespace herald {
namespace {

using contracts::v1::RealtimeMessage;

std::vector<TailRecord> ReadAtLeast(TailReader& reader, size_t count) {
  std::vector<TailRecord> out;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (out.size() < count && absl::Now() < deadline) {
    for (TailRecord& r : reader.Poll(absl::Milliseconds(100))) {
      out.push_back(std::move(r));
    }
  }
  return out;
}

TEST(TailReaderTest, TwoReadersEachReadEveryPartitionFromTheGivenOffsets) {
  auto cluster = MockCluster::Start();
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("realtime.messages", 3).ok());
  Config config = testing::TestConfig(**cluster);
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  for (int i = 0; i < 30; ++i) {
    RealtimeMessage m;
    m.set_channel(absl::StrCat("public.c", i));
    m.set_event("e");
    m.set_data_json(absl::StrCat(i));
    ASSERT_TRUE((*producer)->Send(m).get().ok());
  }
  std::vector<std::unique_ptr<TailReader>> readers;
  for (int r = 0; r < 2; ++r) {
    auto reader = TailReader::Create(config);
    ASSERT_TRUE(reader.ok()) << reader.status();
    auto marks =
        (*reader)->Watermarks({"realtime.messages"}, absl::Seconds(10));
    ASSERT_TRUE(marks.ok()) << marks.status();
    ASSERT_EQ(marks->at("realtime.messages").size(), 3u);
    int64_t total = 0;
    for (const Watermark& m : marks->at("realtime.messages")) {
      EXPECT_EQ(m.low, 0);
      total += m.high;
    }
    EXPECT_EQ(total, 30);
    // From the start of every partition: all 30, each once.
    ASSERT_TRUE((*reader)->Assign({{"realtime.messages", {0, 0, 0}}}).ok());
    readers.push_back(*std::move(reader));
  }
  for (auto& reader : readers) {
    std::set<std::string> seen;
    for (const TailRecord& r : ReadAtLeast(*reader, 30)) {
      RealtimeMessage m;
      ASSERT_TRUE(m.ParseFromString(r.value));
      EXPECT_TRUE(seen.insert(m.data_json()).second) << m.data_json();
    }
    EXPECT_EQ(seen.size(), 30u);
  }
}

// The mock keeps at most 5 MiB per partition: older records disappear and
// the low watermark moves past them (history lost for a reader behind it).
TEST(TailReaderTest, LowWatermarkMovesWhenTheLogIsTruncated) {
  auto cluster = MockCluster::Start();
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("realtime.messages", 1).ok());
  Config config = testing::TestConfig(**cluster);
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  RealtimeMessage big;
  big.set_channel("public.big");
  big.set_data_json(std::string(200 * 1024, 'x'));
  for (int i = 0; i < 40; ++i) ASSERT_TRUE((*producer)->Send(big).get().ok());
  auto reader = TailReader::Create(config);
  ASSERT_TRUE(reader.ok());
  auto marks = (*reader)->Watermarks({"realtime.messages"}, absl::Seconds(10));
  ASSERT_TRUE(marks.ok()) << marks.status();
  EXPECT_GT(marks->at("realtime.messages")[0].low, 0);
  EXPECT_EQ(marks->at("realtime.messages")[0].high, 40);
}

}  // namespace
}  // namespace herald
