#include "messaging/group_lag.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "messaging/internal/kafka.h"
#include "messaging/topics.h"

namespace herald {
namespace {

int RemainingMs(absl::Time deadline) {
  return static_cast<int>(
      std::max<int64_t>(1, absl::ToInt64Milliseconds(deadline - absl::Now())));
}

// A consumer handle that never subscribes: it asks the group's coordinator
// for committed offsets without joining the group.
absl::StatusOr<rd_kafka_t*> NewClient(const Config& config,
                                      const std::string& group) {
  Config own = config;
  own.consumer.group_id = group.empty() ? "herald-list-groups" : group;
  absl::StatusOr<kafka_internal::ConfPtr> conf =
      kafka_internal::NewConf(own, kafka_internal::ClientKind::kConsumer);
  if (!conf.ok()) return conf.status();
  absl::Status set =
      kafka_internal::SetProperty(conf->get(), "enable.auto.commit", "false");
  if (!set.ok()) return set;
  char error[512];
  rd_kafka_t* rk =
      rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), error, sizeof(error));
  if (rk == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create Kafka client: ",
                     kafka_internal::RedactKafkaText(error)));
  }
  conf->release();  // owned by rk now
  return rk;
}

}  // namespace

absl::StatusOr<std::vector<PartitionLag>> GroupLag(
    const Config& config, const std::string& group,
    const std::vector<std::string>& topics, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<std::vector<TopicInfo>> listed = ListTopics(config, timeout);
  if (!listed.ok()) return listed.status();
  std::map<std::string, int> partitions;
  const std::set<std::string> wanted(topics.begin(), topics.end());
  for (const TopicInfo& topic : *listed) {
    if (wanted.count(topic.name) > 0) partitions[topic.name] = topic.partitions;
  }
  std::vector<PartitionLag> out;
  if (partitions.empty()) return out;

  absl::StatusOr<rd_kafka_t*> rk = NewClient(config, group);
  if (!rk.ok()) return rk.status();
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(0);
  for (const auto& [topic, count] : partitions) {
    for (int p = 0; p < count; ++p) {
      rd_kafka_topic_partition_list_add(list, topic.c_str(), p);
    }
  }
  absl::Status status = kafka_internal::ToStatus(
      rd_kafka_committed(*rk, list, RemainingMs(deadline)),
      absl::StrCat("committed offsets of group ", group));
  std::set<std::string> read;  // topics with a commit of the group
  for (int i = 0; status.ok() && i < list->cnt; ++i) {
    if (list->elems[i].offset >= 0) read.insert(list->elems[i].topic);
  }
  for (int i = 0; status.ok() && i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& element = list->elems[i];
    if (read.count(element.topic) == 0) continue;
    PartitionLag lag;
    lag.group = group;
    lag.topic = element.topic;
    lag.partition = element.partition;
    lag.committed = element.offset >= 0 ? element.offset : -1;
    int64_t low = 0;
    status = kafka_internal::ToStatus(
        rd_kafka_query_watermark_offsets(*rk, element.topic, element.partition,
                                         &low, &lag.end, RemainingMs(deadline)),
        absl::StrCat("end offset of ", lag.topic, "/", lag.partition));
    lag.lag = lag.end - (lag.committed >= 0 ? lag.committed : low);
    out.push_back(std::move(lag));
  }
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_consumer_close(*rk);
  rd_kafka_destroy(*rk);
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::vector<std::string>> ListGroups(const Config& config,
                                                    absl::Duration timeout) {
  absl::StatusOr<rd_kafka_t*> rk = NewClient(config, "");
  if (!rk.ok()) return rk.status();
  const rd_kafka_group_list* groups = nullptr;
  absl::Status status = kafka_internal::ToStatus(
      rd_kafka_list_groups(
          *rk, nullptr, &groups,
          static_cast<int>(absl::ToInt64Milliseconds(timeout))),
      "listing consumer groups");
  std::vector<std::string> names;
  if (status.ok()) {
    for (int i = 0; i < groups->group_cnt; ++i) {
      names.push_back(groups->groups[i].group);
    }
    rd_kafka_group_list_destroy(groups);
  }
  rd_kafka_consumer_close(*rk);
  rd_kafka_destroy(*rk);
  if (!status.ok()) return status;
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace herald
