#include "messaging/pipeline/reader.h"

#include <glog/logging.h>

#include <cmath>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "messaging/internal/kafka.h"

namespace herald {
namespace pipeline {
namespace {

std::vector<TopicPartition> ListOf(
    const rd_kafka_topic_partition_list_t* partitions) {
  std::vector<TopicPartition> out;
  if (partitions == nullptr) return out;
  for (int i = 0; i < partitions->cnt; ++i) {
    out.push_back({partitions->elems[i].topic, partitions->elems[i].partition});
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Reader>> Reader::Create(const Config& config) {
  absl::StatusOr<kafka_internal::ConfPtr> conf =
      kafka_internal::NewConf(config, kafka_internal::ClientKind::kConsumer);
  if (!conf.ok()) return conf.status();
  std::unique_ptr<Reader> reader(new Reader());
  // The rebalance callback finds its Reader through the opaque.
  rd_kafka_conf_set_opaque(conf->get(), reader.get());
  rd_kafka_conf_set_rebalance_cb(conf->get(), &Reader::OnRebalance);
  char error[512];
  reader->rk_ =
      rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), error, sizeof(error));
  if (reader->rk_ == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create Kafka consumer: ",
                     kafka_internal::RedactKafkaText(error)));
  }
  conf.value().release();  // rd_kafka_new took it
  rd_kafka_poll_set_consumer(reader->rk_);
  reader->queue_ = rd_kafka_queue_get_consumer(reader->rk_);
  return reader;
}

Reader::~Reader() {
  if (nudger_.joinable()) {
    {
      absl::MutexLock lock(&nudge_mu_);
      stop_nudging_ = true;
    }
    nudger_.join();
  }
  if (rk_ == nullptr) return;
  if (!closed_) Close().IgnoreError();
  if (queue_ != nullptr) rd_kafka_queue_destroy(queue_);
  rd_kafka_destroy(rk_);
}

absl::Status Reader::Subscribe(const std::vector<std::string>& topics,
                               RebalanceListener* listener) {
  listener_ = listener;
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()));
  for (const std::string& topic : topics) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(),
                                      RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  return kafka_internal::ToStatus(err, "subscribe");
}

void Reader::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t* partitions,
                         void* opaque) {
  Reader* self = static_cast<Reader*>(opaque);
  const bool cooperative =
      std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (self != nullptr && self->listener_ != nullptr) {
      self->listener_->OnAssigned(ListOf(partitions));
    }
    rd_kafka_error_t* error = nullptr;
    if (cooperative) {
      error = rd_kafka_incremental_assign(rk, partitions);
    } else {
      rd_kafka_assign(rk, partitions);
    }
    if (error != nullptr) {
      LOG(ERROR) << "consumer: assign: " << rd_kafka_error_string(error);
      rd_kafka_error_destroy(error);
    }
    return;
  }
  if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    LOG(ERROR) << "consumer: rebalance error: " << rd_kafka_err2str(err);
  }
  const bool lost = rd_kafka_assignment_lost(rk) != 0;
  if (self != nullptr && self->listener_ != nullptr) {
    self->listener_->OnRevoked(ListOf(partitions), lost);
  }
  if (cooperative) {
    rd_kafka_error_t* error = rd_kafka_incremental_unassign(rk, partitions);
    if (error != nullptr) {
      LOG(ERROR) << "consumer: unassign: " << rd_kafka_error_string(error);
      rd_kafka_error_destroy(error);
    }
  } else {
    rd_kafka_assign(rk, nullptr);
  }
}

RecordPtr Reader::Poll(absl::Duration timeout) {
  // Round up: a wait of 0.3 ms must not become a busy loop of 0 ms polls.
  // (Most polls take what is already fetched: no arithmetic for those.)
  int ms =
      timeout <= absl::ZeroDuration()
          ? 0
          : static_cast<int>(std::ceil(absl::ToDoubleMilliseconds(timeout)));
  rd_kafka_message_t* raw = rd_kafka_consumer_poll(rk_, ms);
  if (raw == nullptr) return nullptr;
  RecordPtr record(raw);
  if (record->err == RD_KAFKA_RESP_ERR_NO_ERROR) return record;
  if (record->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    LOG_EVERY_N(WARNING, 50)
        << "consumer: " << rd_kafka_message_errstr(record.get());
  }
  return nullptr;
}

void Reader::Wake() { rd_kafka_queue_yield(queue_); }

void Reader::SetPaused(const TopicPartition& partition, bool paused) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, partition.topic.c_str(),
                                    partition.partition);
  if (paused) {
    rd_kafka_pause_partitions(rk_, list);
  } else {
    rd_kafka_resume_partitions(rk_, list);
  }
  rd_kafka_topic_partition_list_destroy(list);
}

void Reader::Pause(const TopicPartition& partition) {
  SetPaused(partition, true);
}

void Reader::Resume(const TopicPartition& partition) {
  SetPaused(partition, false);
  // librdkafka 2.0.2 looks at a resumed partition only when its broker's
  // thread next wakes up: up to a second later when nothing else is being
  // fetched from that broker. Any request to the broker wakes it, so a
  // watermark query (on a thread of our own: it waits for the answer) makes
  // fetching resume at once.
  {
    absl::MutexLock lock(&nudge_mu_);
    nudges_.push_back(partition);
  }
  if (!nudger_.joinable()) nudger_ = std::thread([this] { Nudge(); });
}

void Reader::Nudge() {
  while (true) {
    TopicPartition partition;
    {
      absl::MutexLock lock(&nudge_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(nudge_mu_) {
        return stop_nudging_ || !nudges_.empty();
      };
      nudge_mu_.Await(absl::Condition(&ready));
      if (stop_nudging_) return;
      partition = std::move(nudges_.front());
      nudges_.pop_front();
    }
    int64_t low = 0, high = 0;
    rd_kafka_query_watermark_offsets(rk_, partition.topic.c_str(),
                                     partition.partition, &low, &high,
                                     /*timeout_ms=*/1000);
  }
}

rd_kafka_topic_t* Reader::TopicHandle(const std::string& topic) {
  return rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
}

void Reader::ReleaseTopic(rd_kafka_topic_t* topic) {
  if (topic != nullptr) rd_kafka_topic_destroy(topic);
}

void Reader::StoreOffset(rd_kafka_topic_t* topic, int32_t partition,
                         int64_t next_offset) {
  // rd_kafka_offset_store stores offset + 1.
  rd_kafka_resp_err_t err =
      rd_kafka_offset_store(topic, partition, next_offset - 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Typically the partition was just revoked: it will be redelivered.
    VLOG(1) << "offset store: " << rd_kafka_err2str(err);
  }
}

absl::Status Reader::CommitNow() {
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_, nullptr, /*async=*/0);
  if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return absl::OkStatus();
  return kafka_internal::ToStatus(err, "commit");
}

absl::Status Reader::Close() {
  if (closed_) return absl::OkStatus();
  closed_ = true;
  return kafka_internal::ToStatus(rd_kafka_consumer_close(rk_), "close");
}

bool Reader::InGroup() const {
  char* id = rd_kafka_memberid(rk_);
  const bool joined = id != nullptr && id[0] != '\0';
  if (id != nullptr) rd_kafka_mem_free(rk_, id);
  return joined;
}

std::vector<TopicPartition> Reader::Assignment() const {
  rd_kafka_topic_partition_list_t* partitions = nullptr;
  if (rd_kafka_assignment(rk_, &partitions) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return {};
  }
  std::vector<TopicPartition> out = ListOf(partitions);
  rd_kafka_topic_partition_list_destroy(partitions);
  return out;
}

std::optional<int64_t> Reader::HighWatermark(
    const TopicPartition& partition) const {
  int64_t low = 0, high = 0;
  if (rd_kafka_get_watermark_offsets(rk_, partition.topic.c_str(),
                                     partition.partition, &low,
                                     &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      high < 0) {
    return std::nullopt;
  }
  return high;
}

}  // namespace pipeline
}  // namespace herald
