#include "messaging/tail_reader.h"

#include <glog/logging.h>
#include <librdkafka/rdkafka.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/crypto.h"
#include "messaging/internal/kafka.h"

namespace herald {

struct TailReader::Handle {
  rd_kafka_t* rk = nullptr;
  TailReaderOptions options;
  ~Handle() {
    if (rk == nullptr) return;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
};

absl::StatusOr<std::unique_ptr<TailReader>> TailReader::Create(
    const Config& config, const TailReaderOptions& options) {
  Config own = config;
  // librdkafka wants a group id for assign(); with no subscribe() and no
  // commits the group is never joined, so a unique name keeps it inert.
  absl::StatusOr<std::string> nonce = crypto::RandomBytes(8);
  if (!nonce.ok()) return nonce.status();
  own.consumer.group_id =
      absl::StrCat("herald-tail-", absl::BytesToHexString(*nonce));
  absl::StatusOr<kafka_internal::ConfPtr> conf =
      kafka_internal::NewConf(own, kafka_internal::ClientKind::kConsumer);
  if (!conf.ok()) return conf.status();
  for (const auto& [name, value] :
       {std::pair<const char*, const char*>{"enable.auto.commit", "false"},
        {"auto.offset.reset", "earliest"},
        {"enable.partition.eof", "false"}}) {
    absl::Status set = kafka_internal::SetProperty(conf->get(), name, value);
    if (!set.ok()) return set;
  }
  auto handle = std::make_unique<Handle>();
  handle->options = options;
  char error[512];
  handle->rk =
      rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), error, sizeof(error));
  if (handle->rk == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create Kafka reader: ",
                     kafka_internal::RedactKafkaText(error)));
  }
  conf.value().release();  // rd_kafka_new took it
  rd_kafka_poll_set_consumer(handle->rk);
  return std::unique_ptr<TailReader>(new TailReader(std::move(handle)));
}

TailReader::TailReader(std::unique_ptr<Handle> handle)
    : handle_(std::move(handle)) {}

TailReader::~TailReader() = default;

absl::StatusOr<std::map<std::string, std::vector<Watermark>>>
TailReader::Watermarks(const std::vector<std::string>& topics,
                       absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  auto remaining_ms = [&] {
    return static_cast<int>(std::max<int64_t>(
        1, absl::ToInt64Milliseconds(deadline - absl::Now())));
  };
  std::map<std::string, std::vector<Watermark>> out;
  for (const std::string& topic : topics) {
    rd_kafka_topic_t* rkt =
        rd_kafka_topic_new(handle_->rk, topic.c_str(), nullptr);
    const rd_kafka_metadata_t* metadata = nullptr;
    rd_kafka_resp_err_t err =
        rd_kafka_metadata(handle_->rk, 0, rkt, &metadata, remaining_ms());
    rd_kafka_topic_destroy(rkt);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return kafka_internal::ToStatus(err, absl::StrCat("metadata of ", topic));
    }
    int partitions = 0;
    rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    if (metadata->topic_cnt == 1) {
      partitions = metadata->topics[0].partition_cnt;
      topic_err = metadata->topics[0].err;
    }
    rd_kafka_metadata_destroy(metadata);
    if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR || partitions == 0) {
      return kafka_internal::ToStatus(
          topic_err == RD_KAFKA_RESP_ERR_NO_ERROR
              ? RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
              : topic_err,
          absl::StrCat("topic ", topic));
    }
    std::vector<Watermark>& marks = out[topic];
    marks.resize(partitions);
    for (int p = 0; p < partitions; ++p) {
      err = rd_kafka_query_watermark_offsets(handle_->rk, topic.c_str(), p,
                                             &marks[p].low, &marks[p].high,
                                             remaining_ms());
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return kafka_internal::ToStatus(
            err, absl::StrCat("watermarks of ", topic, "/", p));
      }
    }
  }
  return out;
}

absl::Status TailReader::Assign(const PartitionOffsets& from) {
  size_t count = 0;
  for (const auto& [topic, offsets] : from) count += offsets.size();
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(count));
  for (const auto& [topic, offsets] : from) {
    for (size_t p = 0; p < offsets.size(); ++p) {
      rd_kafka_topic_partition_list_add(list, topic.c_str(),
                                        static_cast<int32_t>(p))
          ->offset = offsets[p];
    }
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(handle_->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  return kafka_internal::ToStatus(err, "assign");
}

std::vector<TailRecord> TailReader::Poll(absl::Duration timeout, int max) {
  std::vector<TailRecord> out;
  const absl::Time deadline = absl::Now() + timeout;
  while (static_cast<int>(out.size()) < max) {
    // Waits only for the first record; then takes what is already there.
    const int wait_ms =
        out.empty() ? static_cast<int>(std::max<int64_t>(
                          0, absl::ToInt64Milliseconds(deadline - absl::Now())))
                    : 0;
    rd_kafka_message_t* m = rd_kafka_consumer_poll(handle_->rk, wait_ms);
    if (m == nullptr) break;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      LOG_EVERY_N(WARNING, 100)
          << "tail reader: "
          << kafka_internal::RedactKafkaText(rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      if (out.empty() && absl::Now() >= deadline) break;
      continue;
    }
    TailRecord record;
    record.topic = rd_kafka_topic_name(m->rkt);
    record.partition = m->partition;
    record.offset = m->offset;
    if (m->key != nullptr) {
      record.key.assign(static_cast<const char*>(m->key), m->key_len);
    }
    if (m->payload != nullptr) {
      record.value.assign(static_cast<const char*>(m->payload), m->len);
    }
    rd_kafka_timestamp_type_t type;
    const int64_t ms = rd_kafka_message_timestamp(m, &type);
    record.timestamp = ms >= 0 ? absl::FromUnixMillis(ms) : absl::Now();
    if (handle_->options.headers)
      record.headers = kafka_internal::AllHeaders(m);
    rd_kafka_message_destroy(m);
    out.push_back(std::move(record));
  }
  return out;
}

}  // namespace herald
