#include "messaging/topics.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "messaging/internal/kafka.h"

namespace herald {

absl::StatusOr<std::vector<TopicInfo>> ListTopics(const Config& config,
                                                  absl::Duration timeout) {
  absl::StatusOr<kafka_internal::ConfPtr> conf =
      kafka_internal::NewConf(config, kafka_internal::ClientKind::kProducer);
  if (!conf.ok()) return conf.status();
  char error[512];
  rd_kafka_t* rk =
      rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), error, sizeof(error));
  if (rk == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create Kafka client: ",
                     kafka_internal::RedactKafkaText(error)));
  }
  conf->release();  // owned by rk now
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk, /*all_topics=*/1, nullptr, &metadata,
                        static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  absl::StatusOr<std::vector<TopicInfo>> result;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    result = kafka_internal::ToStatus(err, "reading topic metadata");
  } else {
    std::vector<TopicInfo> topics;
    for (int i = 0; i < metadata->topic_cnt; ++i) {
      topics.push_back(
          {metadata->topics[i].topic, metadata->topics[i].partition_cnt});
    }
    std::sort(
        topics.begin(), topics.end(),
        [](const TopicInfo& a, const TopicInfo& b) { return a.name < b.name; });
    result = std::move(topics);
    rd_kafka_metadata_destroy(metadata);
  }
  rd_kafka_destroy(rk);
  return result;
}

}  // namespace herald
