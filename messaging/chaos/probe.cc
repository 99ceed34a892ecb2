#include "messaging/chaos/probe.h"

#include <librdkafka/rdkafka.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "messaging/internal/kafka.h"

namespace herald {
namespace chaos {
namespace {

absl::StatusOr<rd_kafka_t*> NewConsumer(
    const std::vector<std::pair<std::string, std::string>>& properties) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error,
                          sizeof(error)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(absl::StrCat(name, ": ", error));
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(absl::StrCat("consumer: ", error));
  }
  return rk;
}

int Millis(absl::Duration d) {
  return static_cast<int>(absl::ToInt64Milliseconds(d));
}

}  // namespace

struct GroupOffsets::Handle {
  rd_kafka_t* rk = nullptr;
  ~Handle() {
    if (rk != nullptr) rd_kafka_destroy(rk);
  }
};

GroupOffsets::GroupOffsets(std::unique_ptr<Handle> handle)
    : handle_(std::move(handle)) {}

GroupOffsets::~GroupOffsets() = default;

absl::StatusOr<std::unique_ptr<GroupOffsets>> GroupOffsets::Create(
    absl::string_view brokers, absl::string_view group) {
  absl::StatusOr<rd_kafka_t*> rk = NewConsumer({
      {"bootstrap.servers", std::string(brokers)},
      {"group.id", std::string(group)},
      {"client.id", "chaos-offsets"},
      {"enable.auto.commit", "false"},
      {"log_level", "3"},
  });
  if (!rk.ok()) return rk.status();
  auto handle = std::make_unique<Handle>();
  handle->rk = *rk;
  return std::unique_ptr<GroupOffsets>(new GroupOffsets(std::move(handle)));
}

absl::StatusOr<std::vector<int64_t>> GroupOffsets::Committed(
    absl::string_view topic, int partitions, absl::Duration timeout) {
  std::string name(topic);
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, name.c_str(), p);
  }
  rd_kafka_resp_err_t err =
      rd_kafka_committed(handle_->rk, list, Millis(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_topic_partition_list_destroy(list);
    return absl::UnavailableError(
        absl::StrCat("committed offsets: ", rd_kafka_err2str(err)));
  }
  std::vector<int64_t> out(static_cast<size_t>(partitions), 0);
  absl::Status status;
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = list->elems[i];
    if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = absl::UnavailableError(absl::StrCat("committed offset of ", name,
                                                   "/", tp.partition, ": ",
                                                   rd_kafka_err2str(tp.err)));
      break;
    }
    out[static_cast<size_t>(tp.partition)] = tp.offset >= 0 ? tp.offset : 0;
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::vector<TopicRecord>> ReadPartition(
    absl::string_view brokers, absl::string_view topic, int32_t partition,
    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string name(topic);
  absl::StatusOr<rd_kafka_t*> created = NewConsumer({
      {"bootstrap.servers", std::string(brokers)},
      {"group.id", "chaos-reader"},  // never joined: assign() only
      {"client.id", "chaos-reader"},
      {"enable.auto.commit", "false"},
      {"log_level", "3"},
  });
  if (!created.ok()) return created.status();
  rd_kafka_t* rk = *created;
  std::vector<TopicRecord> out;
  absl::Status status;
  int64_t low = 0, high = 0;
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      rk, name.c_str(), partition, &low, &high, Millis(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = absl::UnavailableError(
        absl::StrCat("watermarks of ", name, ": ", rd_kafka_err2str(err)));
  }
  if (status.ok() && high > low) {
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, name.c_str(), partition)->offset =
        low;
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    int64_t next = low;
    while (next < high) {
      if (absl::Now() > deadline) {
        status = absl::DeadlineExceededError(absl::StrCat(
            "read ", name, "/", partition, " up to ", next, " of ", high));
        break;
      }
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->partition == partition) {
        TopicRecord r;
        r.partition = m->partition;
        r.offset = m->offset;
        rd_kafka_timestamp_type_t type;
        r.timestamp_ms = rd_kafka_message_timestamp(m, &type);
        if (m->key != nullptr) {
          r.key.assign(static_cast<const char*>(m->key), m->key_len);
        }
        if (m->payload != nullptr) {
          r.value.assign(static_cast<const char*>(m->payload), m->len);
        }
        r.headers = kafka_internal::AllHeaders(m);
        next = m->offset + 1;
        out.push_back(std::move(r));
      }
      rd_kafka_message_destroy(m);
    }
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (!status.ok()) return status;
  return out;
}

}  // namespace chaos
}  // namespace herald
