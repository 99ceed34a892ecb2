#include "messaging/consumer.h"

#include <glog/logging.h>
#include <librdkafka/rdkafka.h>

#include <atomic>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "messaging/cloudevents.h"
#include "messaging/internal/kafka.h"

namespace herald {
namespace {

struct Route {
  std::unique_ptr<google::protobuf::Message> message;  // reused per record
  Handler<google::protobuf::Message> handler;
};

absl::string_view HeaderView(rd_kafka_headers_t* headers, const char* name) {
  if (headers == nullptr) return {};
  const void* value;
  size_t size;
  if (rd_kafka_header_get_last(headers, name, &value, &size) !=
          RD_KAFKA_RESP_ERR_NO_ERROR ||
      value == nullptr) {
    return {};
  }
  return absl::string_view(static_cast<const char*>(value), size);
}

void LogUndecodable(const UndecodableRecord& record) {
  LOG(ERROR) << "skipping undecodable record " << record.topic << "/"
             << record.partition << "@" << record.offset << ": "
             << record.reason.message();
}

}  // namespace

class Consumer::Impl {
 public:
  explicit Impl(const Config& config) : config_(config) {}

  ~Impl() {
    if (rk_ != nullptr) {
      if (!closed_) rd_kafka_consumer_close(rk_);
      rd_kafka_destroy(rk_);
    }
  }

  absl::Status Start() {
    absl::StatusOr<kafka_internal::ConfPtr> conf =
        kafka_internal::NewConf(config_, kafka_internal::ClientKind::kConsumer);
    if (!conf.ok()) return conf.status();
    char error[512];
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), error, sizeof(error));
    if (rk_ == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot create Kafka consumer: ", error));
    }
    conf->release();
    rd_kafka_poll_set_consumer(rk_);
    return absl::OkStatus();
  }

  absl::Status AddRoute(absl::string_view topic,
                        std::unique_ptr<google::protobuf::Message> prototype,
                        Handler<google::protobuf::Message> handler) {
    if (running_) {
      return absl::FailedPreconditionError(
          "Subscribe must be called before Run");
    }
    auto [it, inserted] = routes_.try_emplace(std::string(topic));
    if (!inserted) {
      return absl::AlreadyExistsError(
          absl::StrCat("topic '", topic, "' already has a handler"));
    }
    it->second.message = std::move(prototype);
    it->second.handler = std::move(handler);
    return absl::OkStatus();
  }

  void set_undecodable_callback(UndecodableCallback callback) {
    on_undecodable_ = std::move(callback);
  }

  absl::Status Run() {
    if (routes_.empty()) {
      return absl::FailedPreconditionError("Run without any Subscribe");
    }
    running_ = true;
    rd_kafka_topic_partition_list_t* topics =
        rd_kafka_topic_partition_list_new(routes_.size());
    for (const auto& [topic, route] : routes_) {
      rd_kafka_topic_partition_list_add(topics, topic.c_str(),
                                        RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return kafka_internal::ToStatus(err, "subscribe");
    }
    LOG(INFO) << "consumer " << config_.consumer.group_id << " subscribed to "
              << routes_.size() << " topic(s)";

    while (!stopping()) {
      rd_kafka_message_t* record = rd_kafka_consumer_poll(rk_, 100);
      if (record == nullptr) continue;
      if (record->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (record->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          LOG(WARNING) << "consumer: " << rd_kafka_message_errstr(record);
        }
      } else {
        Dispatch(record);
      }
      rd_kafka_message_destroy(record);
    }
    return Close();
  }

  void Stop() {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    stop_requested_ = true;
  }

  int64_t handled_count() const { return handled_.load(); }

  std::vector<std::string> Assignment() const {
    std::vector<std::string> out;
    rd_kafka_topic_partition_list_t* partitions = nullptr;
    if (rd_kafka_assignment(rk_, &partitions) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return out;
    }
    for (int i = 0; i < partitions->cnt; ++i) {
      out.push_back(absl::StrCat(partitions->elems[i].topic, "/",
                                 partitions->elems[i].partition));
    }
    rd_kafka_topic_partition_list_destroy(partitions);
    return out;
  }

 private:
  bool stopping() { return stop_requested_.load(std::memory_order_relaxed); }

  // Handles one record: decode, run the handler, store the offset on
  // success; on failure rewind the partition to the record and back off.
  void Dispatch(rd_kafka_message_t* record) {
    absl::string_view topic = rd_kafka_topic_name(record->rkt);
    Metadata metadata;
    metadata.topic = topic;
    metadata.partition = record->partition;
    metadata.offset = record->offset;
    metadata.key = absl::string_view(static_cast<const char*>(record->key),
                                     record->key_len);
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(record, &headers) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      headers = nullptr;
    }
    metadata.event_id = HeaderView(headers, ce::kId);
    metadata.event_type = HeaderView(headers, ce::kType);
    metadata.source = HeaderView(headers, ce::kSource);
    rd_kafka_timestamp_type_t ts_type;
    int64_t ts = rd_kafka_message_timestamp(record, &ts_type);
    if (ts >= 0) metadata.timestamp = absl::FromUnixMillis(ts);
    metadata.record_ = record;

    auto route = routes_.find(topic);
    if (route == routes_.end()) {
      // Not ours (cannot happen with subscribe); skip it.
      StoreOffset(record);
      return;
    }
    google::protobuf::Message& event = *route->second.message;
    absl::Status decoded = Decode(record, metadata, event);
    if (!decoded.ok()) {
      UndecodableRecord bad;
      bad.topic = topic;
      bad.partition = record->partition;
      bad.offset = record->offset;
      bad.key = metadata.key;
      bad.value = absl::string_view(static_cast<const char*>(record->payload),
                                    record->len);
      bad.reason = decoded;
      bad.metadata = &metadata;
      (on_undecodable_ ? on_undecodable_ : LogUndecodable)(bad);
      StoreOffset(record);
      return;
    }

    absl::Status handled = route->second.handler(event, metadata);
    if (handled.ok()) {
      handled_.fetch_add(1, std::memory_order_relaxed);
      StoreOffset(record);
      return;
    }
    LOG(WARNING) << "handler for " << topic << "/" << record->partition << "@"
                 << record->offset << " failed, will redeliver: " << handled;
    // Rewind so this record (and the ones after it on this partition) are
    // fetched again; its offset stays uncommitted.
    rd_kafka_topic_partition_list_t* rewind =
        rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(rewind, topic.data(), record->partition)
        ->offset = record->offset;
    rd_kafka_error_t* error = rd_kafka_seek_partitions(rk_, rewind, 5000);
    if (error != nullptr) {
      LOG(WARNING) << "cannot rewind " << topic << "/" << record->partition
                   << ": " << rd_kafka_error_string(error);
      rd_kafka_error_destroy(error);
    }
    rd_kafka_topic_partition_list_destroy(rewind);
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stop_),
                         absl::Milliseconds(config_.consumer.retry_backoff_ms));
  }

  absl::Status Decode(const rd_kafka_message_t* record,
                      const Metadata& metadata,
                      google::protobuf::Message& event) {
    const std::string& expected = event.GetDescriptor()->full_name();
    if (!metadata.event_type.empty() && metadata.event_type != expected) {
      return absl::InvalidArgumentError(
          absl::StrCat("ce_type '", metadata.event_type,
                       "' does not match the subscribed type ", expected));
    }
    if (record->payload == nullptr && record->len == 0) {
      event.Clear();
      return absl::OkStatus();
    }
    if (!event.ParseFromArray(record->payload, static_cast<int>(record->len))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "value (", record->len, " bytes) is not a valid ", expected));
    }
    return absl::OkStatus();
  }

  void StoreOffset(rd_kafka_message_t* record) {
    // Stores offset + 1: the next record to read.
    rd_kafka_resp_err_t err =
        rd_kafka_offset_store(record->rkt, record->partition, record->offset);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Typically the partition was just revoked: it will be redelivered.
      VLOG(1) << "offset store: " << rd_kafka_err2str(err);
    }
  }

  absl::Status Close() {
    rd_kafka_resp_err_t err = rd_kafka_commit(rk_, nullptr, /*async=*/0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR &&
        err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      LOG(WARNING) << "final commit failed (records may be redelivered): "
                   << rd_kafka_err2str(err);
    }
    err = rd_kafka_consumer_close(rk_);
    closed_ = true;
    LOG(INFO) << "consumer " << config_.consumer.group_id << " stopped after "
              << handled_count() << " records";
    return kafka_internal::ToStatus(err, "close");
  }

  const Config config_;
  rd_kafka_t* rk_ = nullptr;
  absl::flat_hash_map<std::string, Route> routes_;
  UndecodableCallback on_undecodable_;
  bool running_ = false;
  bool closed_ = false;
  std::atomic<int64_t> handled_{0};
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;  // wakes the retry backoff
  std::atomic<bool> stop_requested_{false};
};

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(
    const Config& config) {
  auto impl = std::make_unique<Impl>(config);
  absl::Status started = impl->Start();
  if (!started.ok()) return started;
  return std::unique_ptr<Consumer>(new Consumer(std::move(impl)));
}

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Consumer::~Consumer() = default;

absl::Status Consumer::SubscribeMessage(
    absl::string_view topic,
    std::unique_ptr<google::protobuf::Message> prototype,
    Handler<google::protobuf::Message> handler) {
  return impl_->AddRoute(topic, std::move(prototype), std::move(handler));
}

void Consumer::OnUndecodable(UndecodableCallback callback) {
  impl_->set_undecodable_callback(std::move(callback));
}

absl::Status Consumer::Run() { return impl_->Run(); }

void Consumer::Stop() { impl_->Stop(); }

int64_t Consumer::handled_count() const { return impl_->handled_count(); }

std::vector<std::string> Consumer::Assignment() const {
  return impl_->Assignment();
}

}  // namespace herald
